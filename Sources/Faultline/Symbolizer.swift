#if canImport(Glibc)
import Glibc
#endif
import CFaultline
import Synchronization

/// Turns instruction addresses into `Frame`s with names, files and lines,
/// outside any signal handler and outside the process that crashed.
///
/// An address is first located (``ImageLocation``: the loaded object, its
/// load bias and build-id; the pool's helper does this for its workers), then
/// named from that object's file by ``SourceSymbolizer`` (libdwfl: `.symtab`,
/// `.dynsym`, DWARF lines and inlined functions, C++ and Swift demangling).
/// An address inside inlined code becomes several frames. Names are kept by
/// address here and by (build-id, image offset) in ``SourceSymbolizer``:
/// crashes tend to happen at the same few places.
///
/// Limits: the cache holds at most 65,536 addresses (it starts over when
/// full); a library unloaded and another loaded at the same addresses would
/// keep the first one's names.
public enum Symbolizer {
    private struct Key: Hashable {
        var address: UInt64
        var isReturnAddress: Bool
    }

    private static let cache = Mutex<[Key: [Frame]]>([:])
    private static let cacheLimit = 65_536

    /// Resolves a whole backtrace. The first address is the faulting
    /// instruction; the others are return addresses, looked up one byte
    /// earlier so that a call at the very end of a function names that function.
    /// An image the crashed process loaded that this process has not (a callee's
    /// dlopen in a forked call), as the crashed process noted it.
    struct NotedImage {
        var low: UInt64
        var high: UInt64
        var location: ImageLocation
    }

    /// Resolves a whole backtrace whose report carries notes of images this
    /// process may not have loaded: an address no loaded object holds is
    /// located by the note that covers it.
    static func frames(for addresses: [UInt64], notes: [NotedImage]) -> [Frame] {
        guard !notes.isEmpty else { return frames(for: addresses) }
        return addresses.enumerated().flatMap { index, address -> [Frame] in
            let pc = index > 0 && address > 0 ? address - 1 : address
            if address != 0, ImageLocation.locate(pc) == nil,
               let note = notes.first(where: { pc >= $0.low && pc < $0.high }) {
                return frames(for: address, in: note.location, isReturnAddress: index > 0)
            }
            return frames(for: address, isReturnAddress: index > 0)
        }
    }

    public static func frames(for addresses: [UInt64]) -> [Frame] {
        // Crash loops repeat whole backtraces: those are kept too (up to 1024),
        // and the last one is compared before anything is hashed.
        if let known = backtraces.withLock({ cache -> [Frame]? in
            if let last = cache.last, last.addresses == addresses { return last.frames }
            guard let frames = cache.entries[addresses] else { return nil }
            cache.last = (addresses, frames)
            return frames
        }) { return known }
        let frames = addresses.enumerated().flatMap { index, address in
            self.frames(for: address, isReturnAddress: index > 0)
        }
        backtraces.withLock { cache in
            if cache.entries.count >= 1024 { cache.entries.removeAll(keepingCapacity: true) }
            cache.entries[addresses] = frames
            cache.last = (addresses, frames)
        }
        return frames
    }

    /// Named backtraces by their addresses, and the last one asked for.
    private struct BacktraceCache {
        var entries: [[UInt64]: [Frame]] = [:]
        var last: (addresses: [UInt64], frames: [Frame])?
    }

    private static let backtraces = Mutex(BacktraceCache())

    /// The frames of one address of this process (several when it is in inlined
    /// code, innermost first), once per address: see the cache above.
    public static func frames(for address: UInt64, isReturnAddress: Bool = false) -> [Frame] {
        let key = Key(address: address, isReturnAddress: isReturnAddress)
        if let known = cache.withLock({ $0[key] }) { return known }
        // A return address may be one past its image's last byte: located one byte earlier.
        var location = address == 0 ? nil : ImageLocation.locate(isReturnAddress ? address - 1 : address)
        // A library loaded by a relative path: named by its absolute path, as the pool's helper sends it.
        if let relative = location?.path, !relative.hasPrefix("/"), !relative.hasPrefix("["),
           let resolved = realpath(relative, nil) {
            location?.path = String(cString: resolved)
            free(resolved)
        }
        let named = frames(for: address, in: location, isReturnAddress: isReturnAddress)
        cache.withLock { cache in
            if cache.count >= cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[key] = named
        }
        return named
    }

    /// The outermost frame of one address (the function the address is in, not the ones inlined there).
    public static func frame(for address: UInt64, isReturnAddress: Bool = false) -> Frame {
        frames(for: address, isReturnAddress: isReturnAddress).last ?? Frame(address: address)
    }

    /// The frames of `address`, which lies in the image `location` (or in none).
    static func frames(for address: UInt64, in location: ImageLocation?, isReturnAddress: Bool) -> [Frame] {
        guard let location else { return [Frame(address: address)] }
        let imageOffset = location.offset(of: address)
        let base = Frame(address: address, offset: imageOffset, image: location.path,
                         buildID: location.buildID.map(SourceSymbolizer.buildIDHex), imageOffset: imageOffset)
        let source = SourceSymbolizer.resolve(image: location.path, buildID: location.buildID, offset: imageOffset,
                                              isReturnAddress: isReturnAddress)
        guard !source.isEmpty else { return [base] }
        return source.map { named in
            var frame = base
            frame.symbol = named.symbol
            frame.offset = named.symbol == nil ? imageOffset : named.symbolOffset
            frame.file = named.file
            frame.line = named.line
            frame.column = named.column
            frame.inlined = named.inlined
            return frame
        }
    }

    /// Demangles a Swift or C++ symbol; returns the input unchanged otherwise.
    public static func demangle(_ name: String) -> String {
        var capacity = 4096
        while true {
            var buffer = [CChar](repeating: 0, count: capacity)
            let length = fl_demangle(name, &buffer, capacity)
            if length < capacity { return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self) }
            capacity = length + 1
        }
    }

    /// Names the frames the pool's helper located (frames.c: lengths explicit,
    /// so any byte of a path comes back intact); the first is the faulting
    /// instruction, the others return addresses.
    static func frames(encoded bytes: UnsafeMutablePointer<CChar>, length: Int) -> [Frame] {
        var frames: [Frame] = []
        var cursor = 0
        var located = fl_located_frame()
        var index = 0
        while fl_frames_next(bytes, length, &cursor, &located) != 0 {
            var location: ImageLocation?
            if located.found != 0, let image = located.image, located.image_length > 0 {
                let path = String(decoding: UnsafeRawBufferPointer(start: image, count: Int(located.image_length)), as: UTF8.self)
                let buildID = located.build_id_length == 0 || located.build_id == nil ? nil
                    : Array(UnsafeBufferPointer(start: located.build_id, count: Int(located.build_id_length)))
                location = ImageLocation(path: path, bias: located.bias, buildID: buildID)
            }
            frames += Self.frames(for: located.address, in: location, isReturnAddress: index > 0)
            index += 1
        }
        return frames
    }
}

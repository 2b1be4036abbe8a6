#if canImport(Glibc)
import Glibc
#endif
import CFaultline
import Synchronization

/// Turns instruction addresses into `Frame`s with names, outside any signal handler.
///
/// The naming is C's `fl_symbolize` (symbol.c), the very code the pool's
/// helper uses for its workers' crashes, so a frame gets the same name in
/// this process and from the pool: `dladdr` (dynamic symbols of every loaded
/// object), then `__cxa_demangle` for C++ names and `swift_demangle` for
/// Swift names. Resolution costs about half a millisecond per backtrace,
/// which is why handlers only record addresses, and why names are kept by
/// address (crashes tend to happen at the same few places): the second time
/// an address is named costs a dictionary look-up.
///
/// Limits: the cache holds at most 65,536 addresses (it starts over when
/// full); a library unloaded and another loaded at the same addresses would
/// keep the first one's names.
public enum Symbolizer {
    private struct Key: Hashable {
        var address: UInt64
        var isReturnAddress: Bool
    }

    private static let cache = Mutex<[Key: Frame]>([:])
    private static let cacheLimit = 65_536

    /// Resolves a whole backtrace. The first address is the faulting
    /// instruction; the others are return addresses, looked up one byte
    /// earlier so that a call at the very end of a function names that function.
    public static func frames(for addresses: [UInt64]) -> [Frame] {
        // Crash loops repeat whole backtraces: those are kept too (up to 1024),
        // and the last one is compared before anything is hashed.
        if let known = backtraces.withLock({ cache -> [Frame]? in
            if let last = cache.last, last.addresses == addresses { return last.frames }
            guard let frames = cache.entries[addresses] else { return nil }
            cache.last = (addresses, frames)
            return frames
        }) { return known }
        let frames = addresses.enumerated().map { index, address in
            frame(for: address, isReturnAddress: index > 0)
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

    /// Resolves one address (once per address: see the cache above).
    public static func frame(for address: UInt64, isReturnAddress: Bool = false) -> Frame {
        let key = Key(address: address, isReturnAddress: isReturnAddress)
        if let known = cache.withLock({ $0[key] }) { return known }
        let named = resolve(address, isReturnAddress: isReturnAddress)
        cache.withLock { cache in
            if cache.count >= cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[key] = named
        }
        return named
    }

    private static func resolve(_ address: UInt64, isReturnAddress: Bool) -> Frame {
        var capacity = 4096
        while true {
            var buffer = [CChar](repeating: 0, count: capacity)
            var named = fl_named_frame()
            let length = fl_symbolize(address, isReturnAddress ? 1 : 0, &named, &buffer, capacity)
            if length < capacity { return Frame(named) }
            capacity = length + 1
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

    /// Decodes the named frames the pool's helper sent (frames.c: lengths
    /// explicit, so any byte of a name or a path comes back intact).
    static func frames(encoded bytes: UnsafeMutablePointer<CChar>, length: Int) -> [Frame] {
        var frames: [Frame] = []
        var cursor = 0
        var named = fl_named_frame()
        while fl_frames_next(bytes, length, &cursor, &named) != 0 {
            frames.append(Frame(named))
        }
        return frames
    }
}

extension Frame {
    /// A frame from C's naming of it.
    init(_ named: fl_named_frame) {
        func text(_ start: UnsafePointer<CChar>?, _ count: UInt32) -> String? {
            guard let start, count > 0 else { return nil }
            return String(decoding: UnsafeRawBufferPointer(start: start, count: Int(count)), as: UTF8.self)
        }
        guard named.found != 0 else {
            self.init(address: named.address)
            return
        }
        self.init(address: named.address,
                  symbol: named.has_symbol != 0 ? text(named.symbol, named.symbol_length) ?? "" : nil,
                  offset: named.offset,
                  image: text(named.image, named.image_length))
    }
}

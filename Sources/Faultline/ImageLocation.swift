import CFaultline

/// The loaded object (executable, shared library, vDSO) that an instruction
/// address of this process belongs to: what a symbolizer needs to name the
/// address later, even in another process.
///
/// Found by C's `fl_image_locate` (image.c): the object whose `PT_LOAD`
/// segment contains the address, its load bias (`dlpi_addr`) and the build-id
/// of the code in memory. Not for signal handlers (the loader's lock).
public struct ImageLocation: Hashable, Sendable, Codable {
    /// The object's file: the loader's path of a library, the real path of
    /// the main program (`/proc/self/exe`), or `[vdso]`.
    public var path: String
    /// The load bias (`dlpi_addr`): `address - bias` is the image offset.
    public var bias: UInt64
    /// The GNU build-id of the object, nil when it has none.
    public var buildID: [UInt8]?

    /// Creates a location from known parts.
    public init(path: String, bias: UInt64, buildID: [UInt8]? = nil) {
        self.path = path
        self.bias = bias
        self.buildID = buildID
    }

    /// The image offset of `address` (what `SourceSymbolizer.resolve` takes): the ELF virtual address.
    public func offset(of address: UInt64) -> UInt64 { address &- bias }

    /// The object of this process that contains `address`, or nil when no loaded object does.
    public static func locate(_ address: UInt64) -> ImageLocation? {
        var location = fl_image_location()
        guard fl_image_locate(address, &location) != 0, let path = location.path else { return nil }
        let count = Int(location.build_id_length)
        let buildID = count == 0 ? nil : withUnsafeBytes(of: location.build_id) { Array($0.prefix(count)) }
        return ImageLocation(path: String(cString: path), bias: location.bias, buildID: buildID)
    }
}

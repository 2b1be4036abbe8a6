#if canImport(Glibc)
import Glibc
#endif
import ExperimentKit
import Faultline
import FaultlineHarness

/// What a taken-over callee aims at, set up by the experiment and inspected
/// from outside after every cell: a temporary folder with a secret file and
/// an allowed folder (with a file of its own), a TCP listener and a UDP
/// socket on 127.0.0.1 (ephemeral ports), files and markers named per cell.
///
/// The sockets accept and read without blocking, at most 64 connections or
/// datagrams per look, and live only as long as the experiment; nothing is
/// ever sent back.
final class Outside: @unchecked Sendable {
    /// The temporary folder holding everything else.
    let folder: String
    /// A file outside the allowed folder, and the random text in it.
    let secretPath: String
    let secret: String
    /// The folder `--allow-read` names, and a file in it with its text.
    let allowedFolder: String
    let publicPath: String
    let publicText: String
    /// The listening TCP socket and its port.
    private let tcp: Int32
    let tcpPort: Int32
    /// The bound UDP socket and its port.
    private let udp: Int32
    let udpPort: Int32

    /// Makes the folder, the files and the sockets.
    init() throws {
        var template = Array("/tmp/faultline-14-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw UsageError("mkdtemp failed: \(String(cString: strerror(errno)))") }
        folder = String(cString: made)
        let token = String(UInt64.random(in: 1...UInt64.max), radix: 16)
        secret = "fl14-secret-" + token
        secretPath = folder + "/secret.txt"
        try Files.write(secret, to: secretPath)
        allowedFolder = folder + "/allowed"
        guard mkdir(allowedFolder, 0o755) == 0 else { throw UsageError("mkdir \(allowedFolder) failed") }
        publicText = "fl14-public-" + token
        publicPath = allowedFolder + "/public.txt"
        try Files.write(publicText, to: publicPath)
        (tcp, tcpPort) = try Self.bound(SOCK_STREAM)
        guard listen(tcp, 16) == 0 else { throw UsageError("listen failed: \(String(cString: strerror(errno)))") }
        (udp, udpPort) = try Self.bound(SOCK_DGRAM)
    }

    /// A non-blocking socket of `type` bound to 127.0.0.1 on a port the kernel picks.
    private static func bound(_ type: __socket_type) throws -> (Int32, Int32) {
        let fd = socket(AF_INET, Int32(type.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw UsageError("socket failed: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else {
            close(fd)
            throw UsageError("bind 127.0.0.1 failed: \(String(cString: strerror(errno)))")
        }
        return (fd, Int32(UInt16(bigEndian: address.sin_port)))
    }

    /// Where the cell of `column` writes its file, and where its shell touches its marker.
    func writtenPath(_ column: String) -> String { folder + "/written-\(column).txt" }
    func markerPath(_ column: String) -> String { folder + "/marker-\(column)" }

    /// Connections and datagrams that arrived since the last look: waits up to
    /// `wait` seconds for a first one, then takes what is there (at most 64 each).
    func arrivals(wait: Double) -> (connections: Int, datagrams: Int) {
        var fds = [pollfd(fd: tcp, events: Int16(POLLIN), revents: 0), pollfd(fd: udp, events: Int16(POLLIN), revents: 0)]
        _ = poll(&fds, 2, Int32(wait * 1000))
        var connections = 0, datagrams = 0
        while connections < 64 {
            let client = accept(tcp, nil, nil)
            if client < 0 { break }
            close(client)
            connections += 1
        }
        var buffer = [UInt8](repeating: 0, count: 64)
        while datagrams < 64 && recv(udp, &buffer, buffer.count, Int32(MSG_DONTWAIT)) >= 0 { datagrams += 1 }
        return (connections, datagrams)
    }

    /// The size of the file at `path`, nil when there is none.
    func fileSize(_ path: String) -> Int? {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : nil
    }

    /// Closes the sockets and removes the folder and what is in it.
    func remove() {
        close(tcp)
        close(udp)
        for name in Files.list(allowedFolder) { unlink(allowedFolder + "/" + name) }
        rmdir(allowedFolder)
        for name in Files.list(folder) { unlink(folder + "/" + name) }
        rmdir(folder)
    }
}

/// The `TracerPid` of a process (0: none), nil when it cannot be read.
func tracerPID(of pid: pid_t) -> Int32? {
    guard let status = Files.read("/proc/\(pid)/status") else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("TracerPid:") {
        return line.split(separator: "\t").last.flatMap { Int32($0.filter { !$0.isWhitespace }) }
    }
    return nil
}

/// ` (EACCES)` after a returned -13 and the like: the name of the errno value
/// whose negation a victim returned, for the ones these victims meet; empty otherwise.
func errnoSuffix(_ returned: Int64) -> String {
    let names: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", EINTR: "EINTR", EBADF: "EBADF", EAGAIN: "EAGAIN", EACCES: "EACCES",
        EINVAL: "EINVAL", EMFILE: "EMFILE", ENOSYS: "ENOSYS", ENETUNREACH: "ENETUNREACH", ECONNREFUSED: "ECONNREFUSED",
        EAFNOSUPPORT: "EAFNOSUPPORT", ESRCH: "ESRCH", ENOMEM: "ENOMEM",
    ]
    guard returned < 0, returned > -4096, let name = names[Int32(-returned)] else { return "" }
    return " (\(name))"
}

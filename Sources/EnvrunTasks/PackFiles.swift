import EnvrunCore
import Foundation

/// The file-system side of loading a pack: where a path a manifest names really is (after symlinks), and
/// reading a regular file in bounded chunks. `display` is how errors name the file (`gsm8k/tasks.jsonl.gz`).
enum PackFiles {
    /// The path with every symlink resolved. The part that does not exist is appended to the resolved
    /// part that does and then normalised (so a missing model folder still gets an answer); a dangling
    /// symlink is followed to where it points.
    static func resolved(_ path: String) -> String {
        var head = URL(fileURLWithPath: path).path
        var tail: [String] = []
        var links = 0
        while true {
            if let real = realPath(head) {
                guard !tail.isEmpty else { return real }
                return URL(fileURLWithPath: real).appendingPathComponent(tail.reversed().joined(separator: "/"))
                    .standardizedFileURL.path
            }
            let url = URL(fileURLWithPath: head)
            let parent = url.deletingLastPathComponent().path
            if links < 40, let target = try? FileManager.default.destinationOfSymbolicLink(atPath: head) {
                links += 1
                head = target.hasPrefix("/") ? target : parent + "/" + target
                continue
            }
            if parent == head || head.isEmpty { return URL(fileURLWithPath: path).standardizedFileURL.path }
            tail.append(url.lastPathComponent)
            head = parent
        }
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// Whether `path` (already resolved) is `root` or inside it.
    static func isInside(_ path: String, _ root: String) -> Bool {
        path == root || path.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }

    /// `relative` under the pack folder `root` (resolved), refused when it resolves outside it.
    static func inside(_ root: String, _ relative: String, display: String, field: String) throws -> String {
        let path = resolved(URL(fileURLWithPath: root).appendingPathComponent(relative).path)
        guard isInside(path, root) else {
            throw EnvrunError(
                .invalidInput, "\(display): resolves to \(path), outside the pack folder \(root); refused", field: field)
        }
        return path
    }

    /// Calls `body` with the file's bytes, 256 KiB at a time. Refuses what is not a regular file (a FIFO
    /// or a device such as /dev/zero never ends) and a file that grows past `maxBytes` while read.
    static func forEachChunk(
        _ path: String, display: String, maxBytes: Int, field: String, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
        guard fd >= 0 else {
            throw EnvrunError(.io, "cannot read \(path): \(String(cString: strerror(errno)))", field: field)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw EnvrunError(.io, "cannot read \(path): \(String(cString: strerror(errno)))", field: field)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw EnvrunError(.invalidInput, "\(display): not a regular file; refused", field: field)
        }
        let tooLarge = EnvrunError(
            .invalidInput, "\(display): larger than the limit of \(PackLimits.bytes(maxBytes)); refused", field: field)
        guard Int(info.st_size) <= maxBytes else { throw tooLarge }
        var buffer = [UInt8](repeating: 0, count: 1 << 18)
        var total = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw EnvrunError(.io, "cannot read \(path): \(String(cString: strerror(errno)))", field: field)
            }
            if n == 0 { return }
            total += n
            guard total <= maxBytes else { throw tooLarge }
            try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
    }

    /// A whole small file (the manifest) as UTF-8 text.
    static func text(_ path: String, display: String, maxBytes: Int, field: String) throws -> String {
        var data = Data()
        try forEachChunk(path, display: display, maxBytes: maxBytes, field: field) { data.append(contentsOf: $0) }
        guard let text = String(data: data, encoding: .utf8) else {
            throw EnvrunError(.invalidInput, "\(display): not UTF-8 text", field: field)
        }
        return text
    }
}

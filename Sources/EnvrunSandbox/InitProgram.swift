import EnvrunCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `envrun-init`, the program every cold sandbox's pid 1 becomes once its job is cloned
/// (`Sandbox/init/envrun-init.c`; why: see that file). Built once with the system's C compiler
/// (`gcc -static`, without libc on x86_64 and arm64) into the state directory, keyed by a hash of the source, and held open: the C
/// shim execs it by fd, so no path to it exists inside a sandbox.
enum InitProgram {
    static let sourceName = "init/envrun-init.c"

    /// Without libc where the source has the raw system calls (static glibc's start-up cost ~0.4 ms
    /// per exec here), against static libc elsewhere.
    static var flags: [String] {
        #if arch(x86_64) || arch(arm64)
        return ["-O2", "-static", "-nostdlib", "-ffreestanding", "-fno-stack-protector", "-DENVRUN_NOLIBC", "-s"]
        #else
        return ["-O2", "-static", "-s"]
        #endif
    }

    /// An O_CLOEXEC fd of the built program (the caller keeps it for the executor's lifetime).
    static func open(policyDirectory: URL, stateDirectory: String) throws -> Int32 {
        let source = policyDirectory.appendingPathComponent(sourceName)
        guard let text = try? Data(contentsOf: source) else {
            throw EnvrunError(.unavailable, "the sandbox init source is missing", field: source.path)
        }
        let compilers: [String] = ["/usr/bin/gcc", "/usr/bin/cc"]
        guard let compiler = compilers.first(where: { access($0, X_OK) == 0 }) else {
            throw EnvrunError(.unavailable, "building the sandbox init needs gcc (Debian: apt-get install gcc libc6-dev)")
        }
        mkdir(stateDirectory, 0o755)
        let binary = "\(stateDirectory)/envrun-init-\(fnv1a(text + Data((compiler + flags.joined()).utf8)))"
        if let fd = openTrusted(binary) {
            removeOthers(than: binary, in: stateDirectory)
            return fd
        }
        let tmp = "\(binary).\(getpid()).tmp"
        unlink(tmp)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: compiler)
        p.arguments = flags + ["-o", tmp, source.path]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        do { try p.run() } catch {
            throw EnvrunError(.unavailable, "cannot run \(compiler) to build the sandbox init: \(error)")
        }
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0, chmod(tmp, 0o500) == 0, rename(tmp, binary) == 0 else {
            unlink(tmp)
            throw EnvrunError(.unavailable, "cannot build the sandbox init with \(compiler) -static (Debian: apt-get install libc6-dev): \(message.prefix(600))",
                              field: source.path)
        }
        guard let fd = openTrusted(binary) else {
            throw EnvrunError(.unavailable, "the built sandbox init is not a root-owned private file", field: binary)
        }
        removeOthers(than: binary, in: stateDirectory)
        return fd
    }

    /// Builds of other sources (a running executor keeps its own open by fd).
    private static func removeOthers(than binary: String, in dir: String) {
        let name = (binary as NSString).lastPathComponent
        for old in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        where old.hasPrefix("envrun-init-") && !old.hasSuffix(".tmp") && old != name {
            unlink(dir + "/" + old)
        }
    }

    /// Opens `path` only if it is a regular file owned by root that nobody else can write.
    private static func openTrusted(_ path: String) -> Int32? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_uid == 0, st.st_mode & 0o022 == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    private static func fnv1a(_ data: Data) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in data {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return String(h, radix: 16)
    }
}

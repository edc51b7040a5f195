import CEnvrunSandbox
import Foundation
import Testing

@testable import EnvrunSandbox

#if canImport(Glibc)
import Glibc
#endif

/// The small formats between envrun and its helpers: the warm worker's one-line report, the job
/// message, and the C parser of cgroup counter files. No sandbox needed.
@Suite struct WireFormatTests {
    @Test func workerReportLines() {
        #expect(WorkerReport(ArraySlice("done 0 1234 5678 0".utf8)) == .finished(status: 0, cpuUs: 1234, maxRssKb: 5678, retire: false))
        #expect(WorkerReport(ArraySlice("done 256 1 2 1".utf8)) == .finished(status: 256, cpuUs: 1, maxRssKb: 2, retire: true))
        #expect(WorkerReport(ArraySlice("error fork: [Errno 11] try again".utf8)) == .failed("fork: [Errno 11] try again"))
        for bad in ["", "done", "done 1 2 3", "done x 2 3 0", "{\"status\": 0}", "done 1 2 3 4 5"] {
            #expect(WorkerReport(ArraySlice(bad.utf8)) == nil, "\(bad)")
        }
    }

    @Test func jobMessageIsValidJSONForAnyFileName() throws {
        for name in ["main.py", "a \"quoted\" name", "back\\slash", "tab\tand\nnewline"] {
            let escaped = WarmWorker.jsonEscaped(name)
            let obj = try JSONSerialization.jsonObject(with: Data("{\"file\": \"\(escaped)\"}".utf8)) as? [String: String]
            #expect(obj?["file"] == name)
        }
    }

    @Test func counterFilesParse() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("envrun-counter-\(getpid())").path
        defer { unlink(path) }
        try "oom_kill_disable 0\nunder_oom 0\noom_kill 17\n".write(toFile: path, atomically: false, encoding: .utf8)
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        #expect(envrun_read_int(fd, "oom_kill") == 17)
        #expect(envrun_read_int(fd, "under_oom") == 0)
        #expect(envrun_read_int(fd, "oom") == -1)
        #expect(envrun_read_int(fd, nil) == -1)  // the first line starts with a word
        try "123456\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(envrun_read_int(fd, nil) == 123456)  // re-read from offset 0 through the same fd
        try "12\n345\n6789\n".write(toFile: path, atomically: false, encoding: .utf8)
        var ids = [Int32](repeating: 0, count: 2)
        #expect(envrun_read_ids(fd, &ids, 2) == 2)
        #expect(ids == [12, 345])
    }
}

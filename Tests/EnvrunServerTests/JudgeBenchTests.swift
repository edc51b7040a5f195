import EnvrunCore
import EnvrunServer
import EnvrunTasks
import EnvrunTesting
import Foundation
import Testing

@Suite("judge bench")
struct JudgeBenchTests {
    @Test("items are each code task's reference and a None-returning stub")
    func itemsPairReferencesWithStubs() throws {
        guard let dir = PackLibrary.defaultDirectory() else {
            print("JudgeBenchTests skipped: no Tasks/ folder")
            return
        }
        let packs = try PackLibrary.load(directory: dir).filter { ["humaneval", "mbpp", "gsm8k"].contains($0.name) }
        let items = JudgeBenchmark.items(packs: packs, limit: 3)
        #expect(items.count == 12, "3 tasks of each code pack, twice; gsm8k has none")
        #expect(Set(items.map(\.pack)) == ["humaneval", "mbpp"])
        for stub in items where stub.kind == .stub {
            #expect(stub.program.hasSuffix("(*args, **kwargs):\n    return None\n"))
        }
    }

    @Test("both paths judge in the real sandbox and agree: references pass, stubs fail")
    func bothPathsAgree() async throws {
        guard geteuid() == 0 else {
            print("JudgeBenchTests.bothPathsAgree skipped: the sandbox needs root")
            return
        }
        guard let dir = PackLibrary.defaultDirectory() else {
            print("JudgeBenchTests skipped: no Tasks/ folder")
            return
        }
        let packs = try PackLibrary.load(directory: dir).filter { ["humaneval", "mbpp"].contains($0.name) }
        let items = JudgeBenchmark.items(packs: packs, limit: 2)
        let report = try await FDGate.exclusive {
            try await JudgeBenchmark.run(items: items, concurrency: 2, block: 3)
        }
        #expect(report.items == 8 && report.agreements == 8, "\(report.disagreements.map { ($0.item.task.id, $0.source, $0.preloaded) })")
        for f in report.figures {
            #expect(f.referencesPassed == 4 && f.references == 4, "\(f.path): \(f)")
            #expect(f.stubsFailed == 4 && f.stubs == 4, "\(f.path): \(f)")
            #expect(f.itemsPerSecond > 0 && f.p50Ms > 0)
        }
    }
}

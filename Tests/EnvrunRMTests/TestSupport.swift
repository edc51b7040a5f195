import EnvrunCore
import Foundation
@testable import EnvrunRM

/// Paths and helpers shared by the EnvrunRM tests.
enum TestSupport {
    /// The package root (this file is Tests/EnvrunRMTests/TestSupport.swift).
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let python = "/usr/bin/python3"
    static let modelDir = root + "/" + EncoderFiles.defaultDirectory
    static var files: EncoderFiles { EncoderFiles(directory: modelDir) }

    static var haveModel: Bool {
        let ok = (try? files.check()) != nil
        if !ok { print("SKIP: encoder weights missing under \(modelDir) (run scripts/setup.sh)") }
        return ok
    }

    static var haveNumPy: Bool {
        let ok = (try? run(python, ["-c", "import numpy"], stdin: Data()))?.status == 0
        if !ok { print("SKIP: \(python) cannot import numpy (scripts/setup.sh installs python3-numpy)") }
        return ok
    }

    /// Loaded once per test process (90 MB of weights).
    static let encoder: MiniLMEncoder? = try? MiniLMEncoder.load(files)

    struct Output { var status: Int32; var stdout: Data; var stderr: String }

    static func run(_ exe: String, _ args: [String], stdin: Data) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        p.standardError = errPipe
        try p.run()
        let writer = Thread {
            inPipe.fileHandleForWriting.write(stdin)
            try? inPipe.fileHandleForWriting.close()
        }
        writer.start()
        let errBox = DataBox()
        let errDone = DispatchSemaphore(value: 0)
        let errReader = Thread {
            errBox.data = errPipe.fileHandleForReading.readDataToEndOfFile()
            errDone.signal()
        }
        errReader.start()
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        errDone.wait()
        return Output(status: p.terminationStatus, stdout: out, stderr: String(decoding: errBox.data!, as: UTF8.self))
    }

    final class DataBox: @unchecked Sendable { var data: Data? }

    static func cosine(_ a: [Float], _ b: [Double]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in 0..<min(a.count, b.count) {
            dot += Double(a[i]) * b[i]
            na += Double(a[i]) * Double(a[i])
            nb += b[i] * b[i]
        }
        return dot / (na.squareRoot() * nb.squareRoot())
    }
}

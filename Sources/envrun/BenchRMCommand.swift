import ArgumentParser
import EnvrunCore
import EnvrunRM
import Foundation

struct BenchRMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Benchmark the reward-model encoder against cblas_sgemm's peak, measured in the same run.",
        discussion: """
            Encodes a batch of random token sequences (default 32 × 128 tokens) several times and prints the
            median time, sequences/s and achieved GFLOP/s (matrix products + attention, 2 FLOPs per multiply-add),
            next to the median GFLOP/s of a 1024³ sgemm and of the encoder's largest projection shape with the
            same OpenBLAS thread count; the ratio is the fraction of peak. Build with -c release to measure.
            """)

    @Option(help: "Directory with model.safetensors, vocab.txt and config.json.") var modelDir: String?
    @Option(help: "OpenBLAS threads (its idle threads spin; the machine may be shared).") var threads = 1
    @Option(help: "Sequences per batch.") var batch = 32
    @Option(help: "Tokens per sequence (including [CLS] and [SEP]).") var tokens = 128
    @Option(help: "Timed repetitions (after one warm-up).") var repeats = 7
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if !(3...512).contains(tokens) { throw ValidationError("--tokens must be between 3 and 512") }
        if batch < 1 || threads < 1 { throw ValidationError("--batch and --threads must be positive") }
    }

    func run() async throws {
        BLAS.setThreads(threads)
        let encoder = try MiniLMEncoder.load(EncoderFiles.resolve(modelDir), maxLength: max(tokens, 256))
        var bench = EncoderBench()
        bench.batch = batch
        bench.tokens = tokens
        bench.repeats = max(1, repeats)
        let log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        let r = bench.run(encoder: encoder, log: log)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            print(String(decoding: try enc.encode(r), as: UTF8.self))
            return
        }
        print(String(format: "threads %d, batch %d × %d tokens, median of %d", r.threads, r.batch, r.tokens, r.repeats))
        print(String(format: "encoder            %8.3f s/batch  %8.1f sequences/s  %7.1f GFLOP/s", r.encoderMedianSeconds, r.sequencesPerSecond, r.encoderGFLOPs))
        print(String(format: "sgemm %@         %7.1f GFLOP/s", r.gemmShape, r.gemmPeakGFLOPs))
        print(String(format: "sgemm FFN shape    %7.1f GFLOP/s", r.gemmFFNShapeGFLOPs))
        print(String(format: "encoder / sgemm peak: %.1f%%", 100 * r.fractionOfPeak))
    }
}

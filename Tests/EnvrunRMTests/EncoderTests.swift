import EnvrunCore
import Foundation
import Testing
@testable import EnvrunRM

@Suite struct EncoderTests {
    static let sentences = [
        "A man is eating food.",
        "A man is eating a piece of bread.",
        "The new movie is awesome",
        "Héllo, wörld! Naïve café résumé",
        "How do I make a good cup of coffee? Grind fresh beans and use water just off the boil.",
        "日本語のテキスト",
        "",
        String(repeating: "long input that will be truncated ", count: 60),
    ]

    /// Embeddings of the Swift encoder against the NumPy reference (float64) on the same token ids.
    @Test func matchesTheNumPyReference() throws {
        guard TestSupport.haveModel, TestSupport.haveNumPy else { return }
        let encoder = try #require(TestSupport.encoder)
        let ids = Self.sentences.map { encoder.tokenizer.encode($0, maxLength: encoder.maxLength) }
        let swift = encoder.embed(tokenIDs: ids)
        let request = try JSONSerialization.data(withJSONObject: [
            "model_dir": TestSupport.modelDir, "ids": ids.map { $0.map(Int.init) },
        ])
        let out = try TestSupport.run(
            TestSupport.python, [TestSupport.root + "/scripts/reference/minilm_numpy.py"], stdin: request)
        try #require(out.status == 0, "reference failed: \(out.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: out.stdout) as? [String: Any])
        let ref = try #require(json["embeddings"] as? [[Double]])
        #expect(ref.count == swift.count)
        for (i, (a, b)) in zip(swift, ref).enumerated() {
            let cos = TestSupport.cosine(a, b)
            print("encoder vs numpy, sentence \(i) (\(ids[i].count) tokens): cosine \(cos)")
            #expect(cos >= 0.9999, "sentence \(i): cosine \(cos)")
        }
    }

    /// Packing sequences into one batch gives the same embeddings as encoding them one by one.
    @Test func batchingDoesNotChangeEmbeddings() throws {
        guard TestSupport.haveModel else { return }
        let encoder = try #require(TestSupport.encoder)
        let texts = Array(Self.sentences.prefix(5))
        let batched = encoder.embed(texts, batchSize: 5)
        for (i, t) in texts.enumerated() {
            let single = encoder.embed([t], batchSize: 1)[0]
            let cos = TestSupport.cosine(single, batched[i].map(Double.init))
            #expect(cos > 0.99999, "text \(i): \(cos)")
        }
        // Unit length after normalisation; similar sentences are closer than unrelated ones.
        let norm = batched[0].reduce(0) { $0 + $1 * $1 }
        #expect(abs(norm - 1) < 1e-4)
        let sim01 = TestSupport.cosine(batched[0], batched[1].map(Double.init))
        let sim02 = TestSupport.cosine(batched[0], batched[2].map(Double.init))
        #expect(sim01 > sim02)
    }
}

extension EncoderTests {
    /// Over-long id sequences are cut at max_position_embeddings without disturbing their neighbours in the batch.
    @Test func overLongSequencesAreCut() throws {
        guard TestSupport.haveModel else { return }
        let encoder = try #require(TestSupport.encoder)
        let short = encoder.tokenizer.encode("a short sentence")
        let long = [encoder.tokenizer.clsID] + Array(repeating: Int32(2000), count: 600)
        let together = encoder.embed(tokenIDs: [long, short])
        let alone = encoder.embed(tokenIDs: [short])
        #expect(TestSupport.cosine(together[1], alone[0].map(Double.init)) > 0.99999)
        #expect(together[0].allSatisfy { $0.isFinite })
    }
}

import EnvrunCore

/// The weights of a BERT encoder, row-major Float32, as PyTorch stores them (`Linear.weight` is `[out, in]`).
/// Q, K and V are fused into one `[3H, H]` matrix so one sgemm projects all three.
public struct EncoderWeights: Sendable {
    public struct Layer: Sendable {
        public var qkvW: [Float], qkvB: [Float]
        public var attnOutW: [Float], attnOutB: [Float]
        public var ln1G: [Float], ln1B: [Float]
        public var interW: [Float], interB: [Float]
        public var outW: [Float], outB: [Float]
        public var ln2G: [Float], ln2B: [Float]
    }

    public var config: BertConfig
    public var wordEmbeddings: [Float]
    public var positionEmbeddings: [Float]
    public var tokenTypeEmbeddings: [Float]
    public var embLNG: [Float], embLNB: [Float]
    public var layers: [Layer]

    public init(_ st: SafeTensors, config c: BertConfig) throws {
        let h = c.hiddenSize
        let i = c.intermediateSize
        // Some exports prefix every name with "bert."; accept both.
        let prefix = st.tensors["bert.embeddings.word_embeddings.weight"] != nil ? "bert." : ""
        func t(_ name: String, _ shape: [Int]) throws -> [Float] { try st.floats(prefix + name, shape: shape) }
        config = c
        wordEmbeddings = try t("embeddings.word_embeddings.weight", [c.vocabSize, h])
        positionEmbeddings = try t("embeddings.position_embeddings.weight", [c.maxPositionEmbeddings, h])
        tokenTypeEmbeddings = try t("embeddings.token_type_embeddings.weight", [c.typeVocabSize, h])
        embLNG = try t("embeddings.LayerNorm.weight", [h])
        embLNB = try t("embeddings.LayerNorm.bias", [h])
        layers = try (0..<c.numHiddenLayers).map { l in
            let p = "encoder.layer.\(l)."
            let q = try t(p + "attention.self.query.weight", [h, h])
            let k = try t(p + "attention.self.key.weight", [h, h])
            let v = try t(p + "attention.self.value.weight", [h, h])
            let qb = try t(p + "attention.self.query.bias", [h])
            let kb = try t(p + "attention.self.key.bias", [h])
            let vb = try t(p + "attention.self.value.bias", [h])
            return Layer(
                qkvW: q + k + v, qkvB: qb + kb + vb,
                attnOutW: try t(p + "attention.output.dense.weight", [h, h]),
                attnOutB: try t(p + "attention.output.dense.bias", [h]),
                ln1G: try t(p + "attention.output.LayerNorm.weight", [h]),
                ln1B: try t(p + "attention.output.LayerNorm.bias", [h]),
                interW: try t(p + "intermediate.dense.weight", [i, h]),
                interB: try t(p + "intermediate.dense.bias", [i]),
                outW: try t(p + "output.dense.weight", [h, i]),
                outB: try t(p + "output.dense.bias", [h]),
                ln2G: try t(p + "output.LayerNorm.weight", [h]),
                ln2B: try t(p + "output.LayerNorm.bias", [h]))
        }
    }
}

import EnvrunCore
import Foundation

/// A BERT encoder (all-MiniLM-L6-v2: 6 layers, hidden 384, 12 heads, FFN 1536) on `cblas_sgemm`.
///
/// Layout: the sequences of a batch are packed back to back without padding into one row-major
/// `[tokens × hidden]` matrix, so every projection is a single sgemm over all tokens of the batch; only
/// attention works per sequence and head (its key mask is the sequence's own length). Output is mean
/// pooling over each sequence's tokens, optionally L2-normalised as sentence-transformers does.
public struct MiniLMEncoder: Sendable {
    public let weights: EncoderWeights
    public let tokenizer: WordPieceTokenizer
    public var config: BertConfig { weights.config }
    /// Longest input in tokens, `[CLS]` and `[SEP]` included (all-MiniLM-L6-v2 was trained with 256).
    public var maxLength: Int

    public init(weights: EncoderWeights, tokenizer: WordPieceTokenizer, maxLength: Int = 256) {
        self.weights = weights
        self.tokenizer = tokenizer
        self.maxLength = min(maxLength, weights.config.maxPositionEmbeddings)
    }

    /// Loads `model.safetensors`, `vocab.txt` and `config.json` from `files` (clear error when missing).
    public static func load(_ files: EncoderFiles = .resolve(), maxLength: Int = 256) throws -> MiniLMEncoder {
        try files.check()
        let config = try BertConfig.load(files.config)
        let weights = try EncoderWeights(SafeTensors(contentsOf: files.weights), config: config)
        let tokenizer = try WordPieceTokenizer(vocabPath: files.vocab)
        return MiniLMEncoder(weights: weights, tokenizer: tokenizer, maxLength: maxLength)
    }

    public var dimension: Int { config.hiddenSize }

    /// Sentence embeddings of texts (`[texts.count][hidden]`), processed in batches of `batchSize`.
    public func embed(
        _ texts: [String], normalize: Bool = true, truncation: WordPieceTokenizer.TruncationSide = .right,
        batchSize: Int = 32
    ) -> [[Float]] {
        let ids = texts.map { tokenizer.encode($0, maxLength: maxLength, truncation: truncation) }
        var out: [[Float]] = []
        out.reserveCapacity(ids.count)
        var start = 0
        while start < ids.count {
            let end = min(ids.count, start + max(1, batchSize))
            out.append(contentsOf: embed(tokenIDs: Array(ids[start..<end]), normalize: normalize))
            start = end
        }
        return out
    }

    /// Embeddings of already tokenised sequences (each `[CLS] … [SEP]`, at most `maxPositionEmbeddings` long).
    public func embed(tokenIDs batch: [[Int32]], normalize: Bool = true) -> [[Float]] {
        let hidden = hiddenStates(tokenIDs: batch)
        let h = config.hiddenSize
        var offset = 0
        return batch.map { seq in
            let len = min(seq.count, config.maxPositionEmbeddings)  // as hiddenStates truncates
            var v = [Float](repeating: 0, count: h)
            for t in 0..<len {
                let row = (offset + t) * h
                for j in 0..<h { v[j] += hidden[row + j] }
            }
            let inv = 1 / Float(max(1, len))
            for j in 0..<h { v[j] *= inv }
            offset += len
            if normalize {
                var norm: Float = 0
                for x in v { norm += x * x }
                let s = 1 / max(norm.squareRoot(), 1e-12)
                for j in 0..<h { v[j] *= s }
            }
            return v
        }
    }

    /// The last hidden states of the packed batch, `[Σ lengths × hidden]`.
    public func hiddenStates(tokenIDs batch: [[Int32]]) -> [Float] {
        let c = config
        let h = c.hiddenSize
        let lengths = batch.map { min($0.count, c.maxPositionEmbeddings) }
        let n = lengths.reduce(0, +)
        guard n > 0 else { return [] }
        var x = [Float](repeating: 0, count: n * h)
        var row = 0
        for (b, seq) in batch.enumerated() {
            for t in 0..<lengths[b] {
                let id = Int(seq[t])
                let tok = (id >= 0 && id < c.vocabSize ? id : Int(tokenizer.unkID)) * h
                for j in 0..<h {
                    x[row * h + j] =
                        weights.wordEmbeddings[tok + j] + weights.positionEmbeddings[t * h + j]
                        + weights.tokenTypeEmbeddings[j]
                }
                row += 1
            }
        }
        let eps = Float(c.layerNormEps)
        Kernels.layerNorm(&x, rows: n, cols: h, gamma: weights.embLNG, beta: weights.embLNB, eps: eps)
        var scratch = Scratch(tokens: n, hidden: h, inter: c.intermediateSize, maxLen: lengths.max() ?? 1)
        for layer in weights.layers {
            forward(layer: layer, x: &x, lengths: lengths, scratch: &scratch)
        }
        return x
    }

    struct Scratch {
        var qkv: [Float], ctx: [Float], proj: [Float], inter: [Float], scores: [Float]
        init(tokens n: Int, hidden h: Int, inter i: Int, maxLen: Int) {
            qkv = [Float](repeating: 0, count: n * 3 * h)
            ctx = [Float](repeating: 0, count: n * h)
            proj = [Float](repeating: 0, count: n * h)
            inter = [Float](repeating: 0, count: n * i)
            scores = [Float](repeating: 0, count: maxLen * maxLen)
        }
    }

    func forward(layer: EncoderWeights.Layer, x: inout [Float], lengths: [Int], scratch s: inout Scratch) {
        let c = config
        let h = c.hiddenSize
        let heads = c.numAttentionHeads
        let d = h / heads
        let inter = c.intermediateSize
        let n = x.count / h
        let eps = Float(c.layerNormEps)
        let scale = 1 / Float(d).squareRoot()

        // Q, K, V for every token at once: [n × 3h].
        Kernels.linear(x, rows: n, inDim: h, weight: layer.qkvW, bias: layer.qkvB, outDim: 3 * h, into: &s.qkv)
        // Attention, per sequence and head, over the sequence's own tokens.
        s.qkv.withUnsafeBufferPointer { qkv in
            s.ctx.withUnsafeMutableBufferPointer { ctx in
                s.scores.withUnsafeMutableBufferPointer { scores in
                    var offset = 0
                    for len in lengths {
                        for head in 0..<heads {
                            let q = qkv.baseAddress! + offset * 3 * h + head * d
                            BLAS.gemmNT(
                                m: len, n: len, k: d, alpha: scale, a: q, lda: 3 * h, b: q + h, ldb: 3 * h,
                                c: scores.baseAddress!, ldc: len)
                            Kernels.softmaxRows(scores.baseAddress!, rows: len, cols: len)
                            BLAS.gemmNN(
                                m: len, n: d, k: len, a: scores.baseAddress!, lda: len, b: q + 2 * h, ldb: 3 * h,
                                c: ctx.baseAddress! + offset * h + head * d, ldc: h)
                        }
                        offset += len
                    }
                }
            }
        }
        Kernels.linear(s.ctx, rows: n, inDim: h, weight: layer.attnOutW, bias: layer.attnOutB, outDim: h, into: &s.proj)
        Kernels.addInPlace(&x, s.proj)
        Kernels.layerNorm(&x, rows: n, cols: h, gamma: layer.ln1G, beta: layer.ln1B, eps: eps)
        Kernels.linear(x, rows: n, inDim: h, weight: layer.interW, bias: layer.interB, outDim: inter, into: &s.inter)
        Kernels.geluInPlace(&s.inter)
        Kernels.linear(s.inter, rows: n, inDim: inter, weight: layer.outW, bias: layer.outB, outDim: h, into: &s.proj)
        Kernels.addInPlace(&x, s.proj)
        Kernels.layerNorm(&x, rows: n, cols: h, gamma: layer.ln2G, beta: layer.ln2B, eps: eps)
    }

    /// Multiply-add FLOPs of one forward pass over sequences of these lengths (2 per multiply-add).
    public func flops(lengths: [Int]) -> Double {
        let c = config
        let h = Double(c.hiddenSize)
        let i = Double(c.intermediateSize)
        var total = 0.0
        for len in lengths {
            let l = Double(len)
            let proj = 2 * l * h * (3 * h + h + 2 * i)
            let attn = 2 * 2 * l * l * h
            total += Double(c.numHiddenLayers) * (proj + attn)
        }
        return total
    }
}

// Feed-forward activations (config.json's `hidden_act`), element-wise over a buffer.

/// The activations BERT checkpoints use.
public enum Activation: String, Sendable, CaseIterable {
    /// 0.5·x·(1 + erf(x/√2)): HF's "gelu".
    case gelu
    /// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))): HF's "gelu_new" (also "gelu_pytorch_tanh").
    case geluNew = "gelu_new"
    case relu
}

/// The discrete choices a forward pass makes, which its input gradient follows.
public struct ForwardDecisions: Equatable {
    /// Per ReLU site in forward order (the stem, then for each block t1, [t2,] out): 1 where the
    /// post-ReLU activation is > 0, [N, C, H, W] in NCHW order.
    public var relu: [[UInt8]]
    /// The stem max-pool's choice per output [N, C, OH, OW]: kh * 3 + kw in its 3x3 window,
    /// counted from the padded window's corner; nil without a max-pool.
    public var maxPool: [UInt8]?
}

/// Nearest-neighbour resize of one CHW image, with PyTorch's index rule
/// (F.interpolate(mode='nearest'): source index = floor(dst * in / out)).
/// Shapes: planes [C, h, w] -> [C, H, W].
public func nearestResize(_ planes: [Float], channels: Int, from: (Int, Int), to: (Int, Int)) -> [Float] {
    let (h, w) = from, (oh, ow) = to
    if h == oh && w == ow { return planes }
    var out = [Float](repeating: 0, count: channels * oh * ow)
    for c in 0..<channels {
        for y in 0..<oh {
            let sy = min(y * h / oh, h - 1)
            for x in 0..<ow {
                let sx = min(x * w / ow, w - 1)
                out[(c * oh + y) * ow + x] = planes[(c * h + sy) * w + sx]
            }
        }
    }
    return out
}

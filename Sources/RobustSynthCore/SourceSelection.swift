/// Picks `count` items of a finite source, taking classes in turn (the first item of each
/// class, then the second of each, ...) so a small run still shows every class. Only items whose
/// label is in `classes` are taken when it is given. Deterministic: no randomness involved.
public func roundRobinItems(labels: [Int]?, itemCount: Int, count: Int, classes: Set<Int>? = nil) -> [Int] {
    guard let labels else { return Array(0..<min(count, itemCount)) }
    var byClass = [Int: [Int]]()
    for (i, l) in labels.enumerated() where classes?.contains(l) ?? true { byClass[l, default: []].append(i) }
    let order = byClass.keys.sorted()
    var picked = [Int]()
    var round = 0
    while picked.count < count {
        var any = false
        for c in order where round < byClass[c]!.count {
            picked.append(byClass[c]![round])
            any = true
            if picked.count == count { break }
        }
        if !any { break }
        round += 1
    }
    return picked
}

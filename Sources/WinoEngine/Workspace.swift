// Per-request memory: one buffer per activation slot and scratch for the layers,
// sized for a batch. Workspaces are reused across requests (no allocation after
// the first request of a given batch size).
import WinoKernels

/// Buffers for running a plan at one batch size.
final class Workspace {
    let batch: Int
    let slots: [AlignedBuffer]
    let perThread: [AlignedBuffer]
    let shared: AlignedBuffer

    init(plan: Plan, batch: Int, threads: Int) {
        self.batch = batch
        // The input and output slots point at the caller's buffers while a request runs.
        slots = plan.slotSizes.enumerated().map { i, size in
            AlignedBuffer(count: i == plan.inputSlot || i == plan.outputSlot ? 0 : size * batch)
        }
        var need = ScratchNeed()
        for s in plan.steps {
            let n = s.layer.scratch(batch: batch)
            need.perThread = max(need.perThread, n.perThread)
            need.shared = max(need.shared, n.shared)
        }
        // Round per-thread areas up to a cache line so threads never share one.
        let per = (need.perThread + 15) / 16 * 16
        perThread = (0..<threads).map { _ in AlignedBuffer(count: per) }
        shared = AlignedBuffer(count: need.shared)
        slotTable = UnsafeMutablePointer<UnsafeMutablePointer<Float>>.allocate(capacity: max(1, slots.count))
        for (i, b) in slots.enumerated() { (slotTable + i).initialize(to: b.pointer) }
        scratchPointers = perThread.map { $0.pointer }
        checkFlags = UnsafeMutablePointer<UInt32>.allocate(capacity: 16 * max(1, threads))
        checkFlags.initialize(repeating: 0, count: 16 * max(1, threads))
        inputCheck = InputCheckFlags(flags: checkFlags, threads: max(1, threads))
    }

    /// Pointer of each slot; a request points the input and output slots at its own buffers.
    let slotTable: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    /// Per-thread scratch pointers.
    let scratchPointers: [UnsafeMutablePointer<Float>]
    private let checkFlags: UnsafeMutablePointer<UInt32>
    /// Flags for a first layer that checks the input itself (`Layer.checksOwnInput`).
    let inputCheck: InputCheckFlags

    deinit {
        slotTable.deallocate()
        checkFlags.deallocate()
    }
}

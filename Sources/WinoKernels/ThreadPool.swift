// A persistent pool of worker threads for static data-parallel loops.
// Work is split statically: index i always runs the same computation whatever
// the thread count, so results are bit-identical for any number of threads.
//
// Waking a sleeping thread costs 40-60 us on the machines we measured, and the
// scheduler tends to put the woken thread on the waker's core (RESEARCH.md §5), so
// workers are pinned to their own cores and spin for a while (`spinMicroseconds`)
// on an atomic generation counter before sleeping on a condition variable; the
// caller spins until the workers are done. Loops of a few microseconds then scale.
import CWinoKernels
#if canImport(Glibc)
import Glibc
#endif

/// A fixed set of worker threads that execute `parallelFor` loops.
/// One loop runs at a time; a caller finding the pool busy runs its loop alone
/// on its own thread (same results, no waiting, no deadlock).
/// Dropping the last reference to the pool stops and joins its workers.
public final class ThreadPool: @unchecked Sendable {
    /// Total threads taking part in a loop (workers plus the calling thread): as many as asked
    /// for, or fewer where the system would not start more (results are the same for any count).
    public private(set) var threadCount: Int
    /// How long an idle worker spins before it sleeps.
    public static let spinMicroseconds = 300

    /// What the pool and its workers share. The workers hold this, never the pool itself:
    /// a worker holding the pool would keep it alive for ever, so that a dropped pool (a
    /// model unloaded by a service) would never stop its threads.
    private final class Shared: @unchecked Sendable {
        var mutex = pthread_mutex_t()
        var wake = pthread_cond_t()
        // Shared counters, accessed only through the C atomics.
        let generation = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        let pending = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        let stop = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        var sleepers = 0          // guarded by mutex
        var job: ((Int) -> Void)?

        init() {
            pthread_mutex_init(&mutex, nil)
            pthread_cond_init(&wake, nil)
            generation.initialize(to: 0)
            pending.initialize(to: 0)
            stop.initialize(to: 0)
        }

        deinit {
            pthread_mutex_destroy(&mutex)
            pthread_cond_destroy(&wake)
            generation.deallocate()
            pending.deallocate()
            stop.deallocate()
        }

        /// Tells the workers to return: a new generation with `stop` set, published under the
        /// mutex (so that a worker about to sleep sees it) to every sleeper.
        func shutdown() {
            wk_atomic_store(stop, 1)
            pthread_mutex_lock(&mutex)
            wk_atomic_add(generation, 1)
            pthread_cond_broadcast(&wake)
            pthread_mutex_unlock(&mutex)
        }

        /// Publishes a new loop and wakes sleeping workers.
        func publish() {
            wk_atomic_add(generation, 1)
            pthread_mutex_lock(&mutex)
            if sleepers > 0 { pthread_cond_broadcast(&wake) }
            pthread_mutex_unlock(&mutex)
        }

        func workerLoop(_ index: Int, cpu: Int) {
            if cpu >= 0 { _ = wk_pin_thread(Int32(cpu)) }
            var seen: Int64 = 0
            while true {
                // Spin, then sleep, until a new loop (or shutdown) is published.
                let deadline = monotonicNanoseconds() + UInt64(ThreadPool.spinMicroseconds) * 1000
                var spins = 0
                while wk_atomic_load(generation) == seen {
                    wk_cpu_relax()
                    spins += 1
                    if spins & 255 == 0 && monotonicNanoseconds() > deadline {
                        pthread_mutex_lock(&mutex)
                        sleepers += 1
                        while wk_atomic_load(generation) == seen { pthread_cond_wait(&wake, &mutex) }
                        sleepers -= 1
                        pthread_mutex_unlock(&mutex)
                    }
                }
                seen = wk_atomic_load(generation)
                if wk_atomic_load(stop) != 0 { return }
                do {
                    // Released before `pending` drops: the caller's closure must not outlive runOnAll.
                    let body = job!
                    body(index)
                }
                wk_atomic_add(pending, -1)
            }
        }
    }

    private let shared = Shared()
    private var busy = pthread_mutex_t()
    private var workers: [pthread_t] = []

    /// Creates a pool in which `threads` threads (including the caller) run each loop.
    public init(threads: Int) {
        threadCount = max(1, threads)
        pthread_mutex_init(&busy, nil)
        let cpus = Int(wk_cpu_count())
        let pin = threadCount <= cpus   // pinned to their own cores only where there are enough
        for worker in 1..<threadCount {
            let box = Unmanaged.passRetained(WorkerStart(shared: shared, index: worker, cpu: pin ? worker % max(1, cpus) : -1))
            var tid = pthread_t()
            let rc = pthread_create(&tid, nil, { arg in
                let start = Unmanaged<WorkerStart>.fromOpaque(arg!).takeRetainedValue()
                start.shared.workerLoop(start.index, cpu: start.cpu)
                return nil
            }, box.toOpaque())
            if rc != 0 {
                // No more threads (a thread limit, or no address space for their stacks): the
                // loops run on those started, with the same results.
                box.release()
                threadCount = worker
                break
            }
            workers.append(tid)
        }
    }

    deinit {
        shared.shutdown()
        for t in workers { pthread_join(t, nil) }
        pthread_mutex_destroy(&busy)
    }

    private final class WorkerStart {
        let shared: Shared
        let index: Int, cpu: Int   // cpu -1: not pinned
        init(shared: Shared, index: Int, cpu: Int) { self.shared = shared; self.index = index; self.cpu = cpu }
    }

    /// Runs `body(thread)` once on each of `threadCount` threads (thread 0 is the caller)
    /// and returns when all have finished. If another loop is running, runs all
    /// `threadCount` bodies sequentially on the calling thread instead.
    public func runOnAll(_ body: (Int) -> Void) {
        if threadCount == 1 || pthread_mutex_trylock(&busy) != 0 {
            for t in 0..<threadCount { body(t) }
            return
        }
        // The workers finish before this returns, so the closure never really escapes.
        // (The conversion still costs Swift a small heap allocation per loop.)
        let shared = self.shared
        withoutActuallyEscaping(body) { job in
            shared.job = job
            wk_atomic_store(shared.pending, Int64(threadCount - 1))
            shared.publish()
            job(0)
            var spins = 0
            while wk_atomic_load(shared.pending) != 0 {
                wk_cpu_relax()
                spins += 1
                if spins & 4095 == 0 { sched_yield() }
            }
            shared.job = nil
        }
        pthread_mutex_unlock(&busy)
    }

    /// Runs `body(i, thread)` for every i in 0..<count, splitting the range into
    /// `threadCount` contiguous static chunks. `thread` identifies per-thread scratch.
    public func parallelFor(_ count: Int, _ body: (_ index: Int, _ thread: Int) -> Void) {
        if count <= 0 { return }
        let t = min(threadCount, count)
        if t == 1 { for i in 0..<count { body(i, 0) }; return }
        runOnAll { thread in
            guard thread < t else { return }
            let lo = count * thread / t, hi = count * (thread + 1) / t
            for i in lo..<hi { body(i, thread) }
        }
    }
}

/// Runs a parallel loop on `pool`, or serially on the caller when `pool` is nil.
@inlinable
public func parallelFor(_ pool: ThreadPool?, _ count: Int, _ body: (_ index: Int, _ thread: Int) -> Void) {
    if let p = pool { p.parallelFor(count, body) } else { for i in 0..<count { body(i, 0) } }
}

/// Nanoseconds from a monotonic clock.
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

// A persistent pool of worker threads for static data-parallel loops.
// Work is split statically: index i always runs the same computation whatever
// the thread count, so results are bit-identical for any number of threads.
#if canImport(Glibc)
import Glibc
#endif

/// A fixed set of worker threads that execute `parallelFor` loops.
/// One loop runs at a time; a caller finding the pool busy runs its loop alone
/// on its own thread (same results, no waiting, no deadlock).
public final class ThreadPool: @unchecked Sendable {
    /// Total threads taking part in a loop (workers plus the calling thread).
    public let threadCount: Int

    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var done = pthread_cond_t()
    private var busy = pthread_mutex_t()
    private var generation = 0
    private var pending = 0
    private var shuttingDown = false
    private var job: ((Int) -> Void)?
    private var workers: [pthread_t] = []

    /// Creates a pool in which `threads` threads (including the caller) run each loop.
    public init(threads: Int) {
        threadCount = max(1, threads)
        pthread_mutex_init(&mutex, nil)
        pthread_mutex_init(&busy, nil)
        pthread_cond_init(&wake, nil)
        pthread_cond_init(&done, nil)
        for worker in 1..<threadCount {
            let box = Unmanaged.passRetained(WorkerStart(pool: self, index: worker))
            var tid = pthread_t()
            let rc = pthread_create(&tid, nil, { arg in
                let start = Unmanaged<WorkerStart>.fromOpaque(arg!).takeRetainedValue()
                start.pool.workerLoop(start.index)
                return nil
            }, box.toOpaque())
            precondition(rc == 0, "pthread_create failed: \(rc)")
            workers.append(tid)
        }
    }

    deinit {
        pthread_mutex_lock(&mutex)
        shuttingDown = true
        pthread_cond_broadcast(&wake)
        pthread_mutex_unlock(&mutex)
        for t in workers { pthread_join(t, nil) }
        pthread_mutex_destroy(&mutex)
        pthread_mutex_destroy(&busy)
        pthread_cond_destroy(&wake)
        pthread_cond_destroy(&done)
    }

    private final class WorkerStart {
        let pool: ThreadPool
        let index: Int
        init(pool: ThreadPool, index: Int) { self.pool = pool; self.index = index }
    }

    private func workerLoop(_ index: Int) {
        var seen = 0
        while true {
            pthread_mutex_lock(&mutex)
            while generation == seen && !shuttingDown { pthread_cond_wait(&wake, &mutex) }
            if shuttingDown { pthread_mutex_unlock(&mutex); return }
            seen = generation
            do {
                // Released before `pending` drops: the caller's closure must not outlive runOnAll.
                let body = job!
                pthread_mutex_unlock(&mutex)
                body(index)
            }
            pthread_mutex_lock(&mutex)
            pending -= 1
            if pending == 0 { pthread_cond_signal(&done) }
            pthread_mutex_unlock(&mutex)
        }
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
        withoutActuallyEscaping(body) { job in
            pthread_mutex_lock(&mutex)
            self.job = job
            pending = threadCount - 1
            generation += 1
            pthread_cond_broadcast(&wake)
            pthread_mutex_unlock(&mutex)
            job(0)
            pthread_mutex_lock(&mutex)
            while pending > 0 { pthread_cond_wait(&done, &mutex) }
            self.job = nil
            pthread_mutex_unlock(&mutex)
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

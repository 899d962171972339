/*
 * The Semaphore's permit protocol (libsync/src/semaphore.cpp and the inline
 * paths in sync/semaphore.hpp): a state word holding the free count and the
 * waiters flag, a FIFO queue behind a lock, a lock-free take and a lock-free
 * give-back that only succeed while the flag is clear, and the locked paths
 * behind them.
 *
 * Processes: TASKS tasks, each acquiring one permit ROUNDS times and giving
 * it back; a holder that starts with a permit out and gives it back once;
 * and a destroyer that, once every other process has begun its last
 * give-back, takes every permit and "destroys" the semaphore. Each Promela
 * statement is one indivisible step, as each atomic read-modify-write on
 * the state word is: a CAS loop is one step when what it compares cannot
 * change between its load and its exchange (the lock is held, or the word
 * itself is what decides), and otherwise the load and the CAS are separate
 * steps with the CAS failing if the word moved.
 *
 * Properties:
 *  (a) no stranded permit: every task gets every permit it waits for, so an
 *      end state with a task still queued is an "invalid end state";
 *  (b) no barging: nobody takes from the free count while a task is queued
 *      (assertion);
 *  (c) no permit lost or made: free + held + in the hands of a lock holder
 *      == PERMITS at every step (assertion);
 *  (d) no access after the permits are out of reach: when the destroyer
 *      holds every permit, no give-back is still touching the semaphore
 *      (assertion). A give-back's last access must be the step that makes
 *      its permit takeable, or come before it.
 *  (e) with CLOSE: no access after the close is seen. A closer closes the
 *      semaphore while the tasks run; the destroyer waits until every permit
 *      is back and it sees the semaphore closed (is_closed(), which the
 *      header orders after the close), then destroys it: nothing may still
 *      be inside close() or a give-back then (assertion).
 *
 * Switches (spin -DNAME): the variant
 *   CANCEL            task 0 may give up a queued wait (a timeout or a stop)
 *   CLOSE             a closer process calls close(): the tasks' acquires
 *                     then fail, and queued ones are woken without a permit;
 *                     the destroyer's destructor takes the lock once, as
 *                     ~Semaphore does, before the object goes
 * and the mutants, each changing one step (each must fail):
 *   BLIND_ADD         the give-back adds to the free count whatever the flag,
 *                     and takes the lock afterwards if tasks were queued, to
 *                     hand the free count to them (with the locked take
 *                     refusing free permits behind a queue, as that design
 *                     needs): one locked instruction fewer, but the permit
 *                     is takeable while its give-back still has the lock to
 *                     take
 *   PUBLISH_LOCKED    the locked give-back that finds nobody queued publishes
 *                     its permit before dropping the lock
 *   IGNORE_FLAG       the lock-free give-back does not check the flag
 *   SPLIT_CHECK       the lock-free give-back checks the flag, then adds
 *                     without comparing (two steps)
 *   NO_DTOR_LOCK      (with CLOSE) the destructor does not take the lock:
 *                     close() raises its flag under the lock and unlocks
 *                     afterwards, so the unlock can land on freed memory
 */

#ifndef TASKS
#define TASKS 2
#endif
#ifndef ROUNDS
#define ROUNDS 2
#endif
#ifndef PERMITS
#define PERMITS 1
#endif

/* ---- the semaphore ---- */
bool locked;               /* queue_.mutex() */
byte free;                 /* state_ >> kShift */
bool W;                    /* state_ & kWaiters */
byte q[TASKS];             /* queue_, front at q[0] */
byte qlen;
bool queued[TASKS];        /* WaiterNode::queued */
bool granted[TASKS];       /* the node was handed its permit (under the lock) */
bool woken[TASKS];         /* ... and the wake delivered (after the lock) */
bool closed;               /* state_ & kClosed */

/* ---- ghost state for the properties ---- */
byte held;                 /* permits in Permits */
byte inflight;             /* taken off the word by a lock holder, not yet handed on */
byte busy;                 /* give-backs still touching the semaphore */
byte last_started;         /* processes that have begun their last give-back */
bool destroyed;

inline lock()   { atomic { !locked -> locked = true } }
inline unlock() { locked = false }

/* remove q[k] from the queue (k is a local) */
inline dequeue_at() {
  do
  :: k + 1 < qlen -> q[k] = q[k + 1]; k++
  :: else -> break
  od;
  qlen--; q[qlen] = 0
}

/* hand_out_locked(1) under the lock: the head is granted the permit (its
 * wake goes into the batch, delivered after unlocking), or, with nobody
 * queued, it goes to the free count; the flag follows the queue. */
inline hand_out() {
  atomic {
    if
    :: qlen > 0 ->
       h = q[0]; k = 0; dequeue_at();
       queued[h] = false; granted[h] = true; held++; inflight--; batch = h + 1
    :: else -> free++; inflight--
    fi;
    W = (qlen > 0)
  }
}

inline deliver() {
  if
  :: batch > 0 -> woken[batch - 1] = true; batch = 0
  :: else -> skip
  fi
}

/* Permit::release -> give_back(1) -> release_fast, else release_slow. */
inline give_back() {
  busy++;
#ifdef BLIND_ADD
  atomic { oldW = W; free++; held--; if :: !oldW -> busy-- :: else -> skip fi };
  if
  :: oldW ->
     lock();
     if
     :: W -> atomic { f = free; free = 0; inflight = inflight + f };
        do
        :: f > 0 -> hand_out(); f--
        :: else -> break
        od
     :: else -> skip
     fi;
     atomic { unlock(); busy-- };
     deliver()
  :: else -> skip
  fi
#else
  /* release_fast: load, then CAS while the flag is clear */
  sf = free; sw = W;
  atomic {
    if
#if defined(IGNORE_FLAG)
    :: free == sf && W == sw -> free++; held--; busy--; done = true
#elif defined(SPLIT_CHECK)
    :: !sw -> free++; held--; busy--; done = true
#else
    :: !sw && free == sf && W == sw -> free++; held--; busy--; done = true
#endif
    :: else -> done = false
    fi
  };
  do
  :: done -> break
  :: else ->
     /* release_slow */
     lock();
     if
     :: W -> atomic { held--; inflight++ }; hand_out(); atomic { unlock(); busy-- }; deliver(); done = true
     :: else ->
        sf = free; sw = W;
#ifdef PUBLISH_LOCKED
        atomic { free++; held-- };
        atomic { unlock(); busy-- };
        done = true
#else
        unlock();
        atomic {
          if
          :: free == sf && W == sw -> free++; held--; busy--; done = true
          :: else -> skip   /* the word moved: decide again under the lock */
          fi
        }
#endif
     fi
  od
#endif
}

/* acquire(1): take_fast, else take_or_enqueue under the lock and sleep until
 * woken. Leaves got = true if it holds the permit afterwards. */
inline acquire() {
  got = false; enq = false;
  atomic {
    if
    :: !closed && !W && free > 0 -> assert(qlen == 0); free--; held++; got = true
    :: else -> skip
    fi
  }
  if
  :: !got && closed -> skip   /* take_fast: closed */
  :: !got && !closed ->
     lock();
     atomic {
       if
       :: closed -> skip   /* take_or_enqueue: closed, nothing queued */
#ifdef BLIND_ADD
       /* that design's newcomer queues behind a queue whatever is free */
       :: !W && free > 0 -> assert(qlen == 0); free--; held++; got = true
#else
       :: !closed && free > 0 -> assert(qlen == 0); free--; held++; got = true
#endif
       :: else -> W = true; q[qlen] = me; qlen++; queued[me] = true; granted[me] = false; woken[me] = false; enq = true
       fi
     };
     unlock();
     if
     :: !got && enq ->
        if
        :: woken[me] -> got = granted[me]   /* a close wakes it without one */
#ifdef CANCEL
        :: me == 0 ->
           /* remove_waiter: only if still queued; otherwise its grant stands */
           lock();
           if
           :: queued[me] ->
              atomic {
                k = 0;
                do
                :: q[k] == me -> break
                :: else -> k++
                od;
                dequeue_at(); queued[me] = false; W = (qlen > 0)
              }
           :: else -> skip
           fi;
           unlock();
           if
           :: granted[me] -> woken[me]; got = true   /* woken anyway: the grant is kept */
           :: else -> skip
           fi
#endif
        fi
     :: else -> skip
     fi
  :: else -> skip
  fi
}

proctype Task(byte me) {
  byte round, h, k, f, sf, batch;
  bool got, enq, oldW, sw, done;
  do
  :: round < ROUNDS ->
     acquire();
     if
     :: got ->
        if
        :: round == ROUNDS - 1 -> last_started++
        :: else -> skip
        fi;
        give_back()
     :: else ->
        if
        :: round == ROUNDS - 1 -> last_started++
        :: else -> skip
        fi
     fi;
     round++
  :: else -> break
  od
}

proctype Holder() {
  byte h, k, f, sf, batch;
  bool oldW, sw, done;
  last_started++;
  give_back()
}

#ifdef CLOSE
/* close(): under the lock, every queued waiter is taken off (woken without
 * a permit once the lock is dropped) and the closed flag raised. */
proctype Closer() {
  byte h, k, popped;
  busy++;
  lock();
  atomic {
    do
    :: qlen > 0 -> h = q[0]; k = 0; dequeue_at(); queued[h] = false; granted[h] = false; popped = popped | (1 << h)
    :: else -> break
    od;
    W = false; closed = true
  };
  atomic { unlock(); busy-- };
  /* batch.deliver(): only the nodes, never the semaphore */
  for (h : 0 .. TASKS - 1) {
    if
    :: popped & (1 << h) -> woken[h] = true
    :: else -> skip
    fi
  }
}
#endif

/* Once everyone else has begun the give-back after which it never touches
 * the semaphore again, take every permit the lock-free way (as a user who
 * then frees the object would) and destroy it. With CLOSE, nothing can be
 * taken: wait until every permit is back and the close is visible. */
proctype Destroyer() {
  byte mine;
  last_started == TASKS + 1;
#ifdef CLOSE
  atomic { closed && free == PERMITS };
#ifndef NO_DTOR_LOCK
  lock(); unlock();   /* ~Semaphore waits out a close() still returning */
#endif
  mine = PERMITS;
#endif
  do
  :: mine < PERMITS -> atomic { !W && free > 0 -> free--; held++; mine++ }
  :: else -> break
  od;
  assert(busy == 0);
  destroyed = true
}

/* (c) at every step once init has set up the count; blocks (a valid end
 * state) unless violated. */
proctype Conservation() {
end:
  atomic { free + held + inflight != PERMITS -> assert(false) }
}

init {
  byte i;
  atomic {
    free = PERMITS - 1;
    held = 1;
    run Conservation();
    run Holder();
    run Destroyer();
#ifdef CLOSE
    run Closer();
#endif
    for (i : 0 .. TASKS - 1) { run Task(i) }
  }
}

/*
 * The Semaphore's permit protocol (libsync/src/semaphore.cpp and the inline
 * paths in sync/semaphore.hpp): a state word holding the free count and the
 * waiters flag, a FIFO queue behind a lock, and a Permit's give-back that is
 * one fetch_add whatever the flags say.
 *
 * Processes: TASKS tasks, each acquiring one permit ROUNDS times and giving
 * it back, and one holder that starts with a permit out and gives it back
 * once. Each Promela statement is one indivisible step, as each atomic
 * read-modify-write on the state word is (a CAS loop that retries is one
 * step: only the attempt that succeeds changes anything). What a CAS decides
 * from the value it replaces is decided inside the same atomic block.
 *
 * Properties:
 *  (a) no stranded permit: every task gets every permit it waits for, so an
 *      end state with a task still queued is an "invalid end state";
 *  (b) no barging: nobody takes from the free count while a task is queued
 *      (assertion);
 *  (c) no permit lost or made: free + handed to queued tasks + held + in the
 *      hands of a lock holder == PERMITS at every step (assertion), and once
 *      everyone is done all PERMITS are free and nobody is queued.
 *
 * Switches (spin -DNAME): the variant
 *   CANCEL          task 0 may give up a queued wait (a timeout or a stop)
 * and the mutants, each deleting or moving one step (each must fail):
 *   NO_SETTLE       a give-back that finds tasks queued does not take the lock
 *                   and hand the free count to them
 *   SPLIT_ADD       the give-back reads the flag, then adds (two steps)
 *   ENQUEUE_BARGES  a newcomer under the lock takes free permits even behind
 *                   a queue
 *   FAST_BARGES     the lock-free take ignores the waiters flag
 */

#ifndef TASKS
#define TASKS 3
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
byte reserved;             /* reserved_: granted to queued tasks so far */
byte q[TASKS];             /* queue_, front at q[0] */
byte qlen;
byte granted[TASKS];       /* WaiterNode::granted */
bool queued[TASKS];        /* WaiterNode::queued */
bool woken[TASKS];         /* the node was completed and its task woken */

/* ---- ghost state for the properties ---- */
byte held;                 /* permits in Permits */
byte inflight;             /* taken off the word or the queue by a lock holder */

inline lock()   { atomic { !locked -> locked = true } }
inline unlock() { locked = false }

/* hand_out_locked(n): under the lock, hand n permits to the queue's head(s),
 * then add what is left to the free count and set the flag from the queue.
 * Each task here needs one permit. */
inline hand_out(n) {
  do
  :: n > 0 && qlen > 0 ->
     atomic {
       h = q[0];
       granted[h] = 1; n--; inflight--;
       k = 0;
       do
       :: k + 1 < qlen -> q[k] = q[k + 1]; k++
       :: else -> break
       od;
       qlen--; q[qlen] = 0;
       queued[h] = false; held++; woken[h] = true
     }
  :: else -> break
  od;
  atomic { free = free + n; inflight = inflight - n; n = 0; W = (qlen > 0) }
}

/* Permit::release -> give_back(1): one fetch_add; its old value says whether
 * tasks were queued, and then given_back_slow runs. */
inline give_back() {
#ifdef SPLIT_ADD
  oldW = W;
  atomic { free++; held-- }
#else
  atomic { oldW = W; free++; held-- }
#endif
  if
  :: oldW ->
#ifndef NO_SETTLE
     lock();
     if
     :: W -> atomic { f = free; free = 0; inflight = inflight + f }; hand_out(f)
     :: else -> skip
     fi;
     unlock()
#else
     skip
#endif
  :: else -> skip
  fi
}

/* acquire(1): take_fast, else take_or_enqueue under the lock and sleep until
 * woken. Leaves got = true if it holds the permit afterwards. */
inline acquire() {
  got = false;
  atomic {
#ifdef FAST_BARGES
    if
    :: free > 0 -> assert(qlen == 0); free--; held++; got = true
    :: else -> skip
    fi
#else
    if
    :: !W && free > 0 -> assert(qlen == 0); free--; held++; got = true
    :: else -> skip
    fi
#endif
  }
  if
  :: !got ->
     lock();
     atomic {
#ifdef ENQUEUE_BARGES
       take = (free > 0 -> 1 : 0);
#else
       take = (W -> 0 : (free > 0 -> 1 : 0));
#endif
       if
       :: take > 0 -> assert(qlen == 0); free--; held++; got = true
       :: else -> W = true
       fi
     };
     if
     :: !got -> atomic { granted[me] = 0; q[qlen] = me; qlen++; queued[me] = true; woken[me] = false }
     :: else -> skip
     fi;
     unlock();
     if
     :: !got ->
        if
        :: woken[me] -> got = true
#ifdef CANCEL
        :: me == 0 ->
           /* remove_waiter: only if still queued; otherwise it was woken */
           lock();
           if
           :: queued[me] ->
              atomic {
                k = 0;
                do
                :: q[k] == me -> break
                :: else -> k++
                od;
                do
                :: k + 1 < qlen -> q[k] = q[k + 1]; k++
                :: else -> break
                od;
                qlen--; q[qlen] = 0; queued[me] = false;
                f = granted[me]; granted[me] = 0; reserved = reserved - f; inflight = inflight + f
              };
              hand_out(f)
           :: else -> skip
           fi;
           unlock();
           got = woken[me]
#endif
        fi
     :: else -> skip
     fi
  :: else -> skip
  fi
}

proctype Task(byte me) {
  byte round, h, k, f, take;
  bool got, oldW;
  do
  :: round < ROUNDS ->
     acquire();
     if
     :: got -> give_back()
     :: else -> skip
     fi;
     round++
  :: else -> break
  od
}

proctype Holder() {
  byte h, k, f;
  bool oldW;
  give_back()
}

/* (c) at every step once init has set up the count; blocks (a valid end
 * state) unless violated. */
proctype Conservation() {
end:
  atomic { free + reserved + held + inflight != PERMITS -> assert(false) }
}

init {
  byte i;
  atomic {
    free = PERMITS - 1;
    held = 1;
    run Conservation();
    run Holder();
    for (i : 0 .. TASKS - 1) { run Task(i) }
  }
  /* everyone done: only Conservation and init are left */
  _nr_pr == 2;
  assert(free == PERMITS && !W && qlen == 0 && reserved == 0 && held == 0 && inflight == 0)
}

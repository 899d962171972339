/*
 * The cross-thread wake protocol of a uring-futex loop: one loop L that sleeps
 * in io_uring_enter on a single FUTEX_WAIT armed on its doorbell word, and
 * WAKERS other threads that each hand it WAKES nodes.
 *
 * See README.md in this folder for how each step maps onto libsync/src/loop.cpp
 * and the futex wake path, and for how to run it. Spin explores every
 * interleaving, so the model is only as fine-grained as its statements: each
 * Promela statement is one indivisible step, just as each seq_cst atomic
 * access (or each kernel operation done under the futex bucket lock) is.
 *
 * Properties:
 *  (a) no lost wake: the loop ends only after taking every node, so an end
 *      state where it is still asleep in the kernel is an "invalid end state";
 *  (b) at most one futex wake per parked period (assertion);
 *  (c) the kernel wait fails at once (-EAGAIN) only if a waker rang the
 *      doorbell in the current parked period (assertion): a value left over
 *      from an earlier period would make an idle loop spin, not sleep.
 *
 * Switches (spin -DNAME): the variants of the correct protocol
 *   WAKE_AFTER_UNLOCK  the waker exchanges the doorbell under the mutex but
 *                      makes the futex_wake syscall after unlocking
 *   WAKE_ALWAYS        futex_wake whatever the exchange returned
 * and the mutants, each deleting or moving one step (each must fail):
 *   NO_RECHECK             the loop does not re-check remote_pending after arming
 *   RESET_AFTER_RECHECK    the loop stores doorbell = 0 after the re-check
 *   NO_RESET               the loop never stores doorbell = 0
 *   PARK_AFTER_RECHECK     the loop publishes parked only after the re-check
 *   WAKER_CHECKS_FIRST     the waker reads parked before setting remote_pending
 *   NO_NOTIFIED_CLEAR      draining the remote list leaves notified set
 *   NO_NOTIFIED            the waker ignores notified
 *   NO_COMPARE             the kernel wait sleeps without comparing the word
 *   SPIN_TAKES_PENDING     the idle spin clears remote_pending when it sees it
 */

#ifndef WAKERS
#define WAKERS 2
#endif
#ifndef WAKES
#define WAKES 2            /* nodes each waker hands over */
#endif
#ifndef BUSY
#define BUSY 1             /* iterations in which L has other ready work */
#endif
#define TOTAL (WAKERS * WAKES)

/* ---- the loop's shared state ---- */
bool locked;               /* remote_mu_ */
byte R;                    /* remote_handles_.size(): nodes pushed, not taken */
bool remote_pending;       /* remote_pending_ (seq_cst) */
bool parked;               /* parked_ (seq_cst) */
bool notified;             /* notified_ (guarded by remote_mu_) */
byte doorbell;             /* doorbell_: the word the kernel wait watches */

/* ---- the kernel's view of the loop's one FUTEX_WAIT on the doorbell ----
 * NONE:    not armed (UringBackend::doorbell_armed_ == false)
 * QUEUED:  SQE written to the SQ, not yet submitted by io_uring_enter
 * WAITING: submitted, compared equal, enqueued on the futex's hash bucket
 * DONE:    completed (woken, or -EAGAIN); its CQE waits in the CQ until the
 *          loop reaps it and clears doorbell_armed_
 */
mtype = { NONE, QUEUED, WAITING, DONE };
mtype kwait = NONE;

/* ---- ghost state for the properties (no C++ counterpart) ---- */
byte taken;                /* nodes the loop has taken off R */
byte period_wakes;         /* futex wakes decided in the current parked period */
bool rung;                 /* a waker set the doorbell in this parked period */

inline lock()   { atomic { !locked -> locked = true } }
inline unlock() { locked = false }

/* io_uring_enter's submission of a queued FUTEX_WAIT(&doorbell, 0): the kernel
 * reads the word and enqueues the waiter under the futex bucket lock, so this
 * is one step with respect to futex_wake on the same word. */
inline submit() {
  atomic {
    if
    :: kwait == QUEUED ->
#ifdef NO_COMPARE
       kwait = WAITING
#else
       if
       :: doorbell != 0 -> assert(rung); kwait = DONE   /* -EAGAIN at once */
       :: else -> kwait = WAITING
       fi
#endif
    :: else
    fi
  }
}

/* futex_wake(&doorbell, n): wakes whatever waits on the bucket, which is at
 * most the loop's FUTEX_WAIT; waking it posts its CQE. */
inline futex_wake() {
  atomic {
    if
    :: kwait == WAITING -> kwait = DONE
    :: else
    fi
  }
}

/* Loop::poke_locked + notify_loop_locked, called with remote_mu_ held. `ring` is
 * the waker's local: whether to make the futex_wake syscall. */
inline poke_locked(ring) {
  if
#ifdef NO_NOTIFIED
  :: parked ->
#else
  :: parked && !notified ->
#endif
     notified = true;
     /* doorbell_.exchange(1): a wake is needed only if L reset it to 0 */
     atomic { ring = (doorbell == 0); doorbell = 1; rung = true };
#ifdef WAKE_ALWAYS
     ring = true;
#endif
     if
     :: ring -> period_wakes++; assert(period_wakes <= 1)
     :: else
     fi
  :: else -> ring = false
  fi
}

active [WAKERS] proctype Waker() {
  byte n = WAKES;
  bool ring;
  do
  :: n > 0 ->
     n--;
     lock();                                   /* lock_guard lk(remote_mu_) */
     R++;                                      /* remote_handles_.push_back(h) */
     /* woken->store(kWordWoken): the node's own word, read only by the
      * task itself; it plays no part in waking the loop. */
#ifdef WAKER_CHECKS_FIRST
     poke_locked(ring);
     remote_pending = true;
#else
     remote_pending = true;                    /* remote_pending_.store(true) */
     poke_locked(ring);                        /* if parked && !notified ... */
#endif
#ifdef WAKE_AFTER_UNLOCK
     unlock();
     if :: ring -> futex_wake() :: else fi     /* futex_wake(&doorbell_) */
#else
     if :: ring -> futex_wake() :: else fi     /* futex_wake(&doorbell_) */
     unlock();                                 /* ~lock_guard */
#endif
  :: else -> break
  od
}

active proctype Loop() {
  byte busy = BUSY;
  bool block;
  do
  :: taken == TOTAL -> break    /* the program ends once it has every node */
  :: else ->
     /* drain_remote() */
     if
     :: remote_pending ->
        lock();
        remote_pending = false;
#ifndef NO_NOTIFIED_CLEAR
        notified = false;
#endif
        taken = taken + R;                     /* remote_swap_.swap(remote_handles_) */
        R = 0;
        unlock()
     :: else
     fi;
     /* resume the ready tasks; block = ready_.empty() && ... */
     if
     :: taken == TOTAL -> block = false
     :: else ->
        if
        :: busy > 0 -> busy--; block = false   /* a task made another ready */
        :: true -> block = true
        fi
     fi;
     /* spin_for_wake(): before it publishes parked, the loop may watch
        remote_pending for a while; a wake seen then means it does not park.
        The spin may also end empty at any point (its limit, a due timer, or
        no spin at all), so both branches stay open. */
     if
     :: block && remote_pending ->
#ifdef SPIN_TAKES_PENDING
        remote_pending = false;
#endif
        block = false
     :: true
     fi;
     if
     :: block ->
#ifndef PARK_AFTER_RECHECK
        atomic { parked = true; period_wakes = 0; rung = false }   /* parked_.store(true) */
#endif
        /* prepare_sleep() */
#if !defined(RESET_AFTER_RECHECK) && !defined(NO_RESET)
        doorbell = 0;                          /* doorbell_.store(0) */
#endif
        if                                     /* ring_.arm_doorbell(doorbell_) */
        :: kwait == NONE -> kwait = QUEUED     /* write the FUTEX_WAIT SQE */
        :: else                                /* still armed from an earlier park */
        fi;
#ifndef NO_RECHECK
        if                                     /* if (remote_pending_.load()) */
        :: remote_pending -> block = false
        :: else
        fi;
#endif
#ifdef RESET_AFTER_RECHECK
        doorbell = 0;
#endif
#ifdef PARK_AFTER_RECHECK
        atomic { parked = true; period_wakes = 0; rung = false }
#endif
        if
        :: block ->                            /* backend_->wait(nullopt) */
           submit();                           /* io_uring_enter submits the SQ ... */
           kwait == DONE;                      /* ... and sleeps until a CQE */
           kwait = NONE                        /* reap: doorbell_armed_ = false */
        :: else
        fi;
        parked = false                         /* parked_.store(false) */
     :: else
     fi;
     if
     :: !block ->                              /* not blocking: backend_->wait(0) */
        if
        :: kwait == QUEUED ->                  /* needs_flush(): submit the SQE */
           submit();
           if :: kwait == DONE -> kwait = NONE :: else fi
        :: kwait == DONE -> kwait = NONE       /* a periodic poll reaps the CQE */
        :: true                                /* or it stays in the CQ for now */
        fi
     :: else
     fi
  od
}

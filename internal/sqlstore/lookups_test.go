package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authserve/authserve/internal/auth"
	"github.com/google/go-cmp/cmp"
)

// gatedRun is a lookupBatcher run that records each batch's user ids and
// holds it until release is closed.
type gatedRun struct {
	mu      sync.Mutex
	batches [][]int64
	started chan struct{}
	release chan struct{}
}

func newGatedRun() *gatedRun {
	return &gatedRun{started: make(chan struct{}, 100), release: make(chan struct{})}
}

func (g *gatedRun) run(_ context.Context, batch []*lookup) error {
	ids := make([]int64, len(batch))
	for i, l := range batch {
		ids[i] = l.userID
	}
	g.mu.Lock()
	g.batches = append(g.batches, ids)
	g.mu.Unlock()
	g.started <- struct{}{}
	<-g.release
	for _, l := range batch {
		if l.userID < 0 {
			panic("negative user")
		}
		l.found, l.live, l.user = true, l.userID%2 == 0, auth.User{ID: l.userID}
	}
	return nil
}

// waitPending waits until n lookups wait in b.
func waitPending(t *testing.T, b *lookupBatcher, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b.mu.Lock()
		got := len(b.pending)
		b.mu.Unlock()
		if got == n {
			return
		}
	}
	t.Fatalf("%d lookups never waited", n)
}

// TestLookupBatcher: the first lookups go at once, alone; those that
// arrive while every slot is busy wait and go together, at most maxBatch a
// statement; every caller gets its own answer; a caller that gives up is
// answered with its context's error at once and does not hold the others.
func TestLookupBatcher(t *testing.T) {
	g := newGatedRun()
	b := newLookupBatcher(g.run, 1, 3)
	type answer struct {
		id  int64
		l   *lookup
		err error
	}
	answers := make(chan answer, 10)
	ask := func(ctx context.Context, id int64) {
		l := &lookup{userID: id}
		err := b.do(ctx, l)
		answers <- answer{id, l, err}
	}
	go ask(context.Background(), 1)
	<-g.started // lookup 1 runs alone: nothing waited before it
	gone, giveUp := context.WithCancel(context.Background())
	go ask(gone, 2)
	waitPending(t, b, 1)
	for id := int64(3); id <= 6; id++ {
		go ask(context.Background(), id)
		waitPending(t, b, int(id)-1)
	}
	giveUp()
	if a := <-answers; a.id != 2 || !errors.Is(a.err, context.Canceled) {
		t.Fatalf("the caller that gave up got (%d, %v), want (2, context.Canceled) at once", a.id, a.err)
	}
	close(g.release)
	got := map[int64]bool{}
	for range 5 {
		a := <-answers
		if a.err != nil || !a.l.found || a.l.user.ID != a.id || a.l.live != (a.id%2 == 0) {
			t.Errorf("lookup %d answered %+v, %v", a.id, a.l, a.err)
		}
		got[a.id] = true
	}
	if len(got) != 5 {
		t.Errorf("answered %v, want 1, 3, 4, 5, 6", got)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	// 2 gave up while waiting, so it is left out; the rest of the queue
	// goes 3 at most at a time, in order.
	want := [][]int64{{1}, {3, 4, 5}, {6}}
	if !cmp.Equal(g.batches, want) {
		t.Errorf("batches = %v, want %v", g.batches, want)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.inFlight != 0 || len(b.pending) != 0 {
		t.Errorf("after the last batch: %d in flight, %d waiting; want none", b.inFlight, len(b.pending))
	}
}

// TestLookupBatcherPanic: a panicking batch answers each of its lookups
// with an error instead of taking the process down from a goroutine no
// caller's recover covers.
func TestLookupBatcherPanic(t *testing.T) {
	g := newGatedRun()
	close(g.release)
	b := newLookupBatcher(g.run, 1, 8)
	if err := b.do(context.Background(), &lookup{userID: -1}); err == nil {
		t.Fatal("a panicking batch answered without an error")
	}
	if err := b.do(context.Background(), &lookup{userID: 4}); err != nil {
		t.Fatalf("the next lookup = %v, want an answer", err)
	}
}

// TestLookupBatcherDeadline: a batch runs under the earliest deadline of
// its callers, and not under their cancellation.
func TestLookupBatcherDeadline(t *testing.T) {
	var got time.Time
	var hadDeadline bool
	var canceledWith error
	b := newLookupBatcher(func(ctx context.Context, _ []*lookup) error {
		got, hadDeadline = ctx.Deadline()
		canceledWith = ctx.Err()
		return nil
	}, 1, 8)
	want := time.Now().Add(time.Hour)
	ctx, cancel := context.WithDeadline(context.Background(), want)
	defer cancel()
	if err := b.do(ctx, &lookup{}); err != nil {
		t.Fatal(err)
	}
	if !hadDeadline || !got.Equal(want) || canceledWith != nil {
		t.Errorf("batch context: deadline %v (%v), err %v; want %v, nil", got, hadDeadline, canceledWith, want)
	}
}

// TestLookupManyAnswersAsOne: on the engines that batch, one statement for
// many lookups answers each exactly as the one-lookup statement does,
// duplicates and unknown users included; and lookups made at once from
// many goroutines each get their own answer.
func TestLookupManyAnswersAsOne(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			e.skip(t)
			s := openMigrated(t, e.opts(t))
			if s.lookups == nil {
				t.Skip("this engine does not batch lookups")
			}
			ctx := context.Background()
			questions := lookupQuestions(t, s)

			want := make([]lookup, len(questions))
			batch := make([]*lookup, len(questions))
			for i, q := range questions {
				want[i] = q
				if err := s.lookupOne(ctx, &want[i]); err != nil {
					t.Fatal(err)
				}
				q := q
				batch[i] = &q
			}
			if err := s.lookupMany(ctx, batch); err != nil {
				t.Fatalf("lookupMany = %v", err)
			}
			lives := 0
			for i := range questions {
				w, g := want[i], batch[i]
				if g.found != w.found || g.live != w.live || !cmp.Equal(g.user, w.user) {
					t.Errorf("lookup %+v: batched (%v, %v, %+v), alone (%v, %v, %+v)", questions[i],
						g.found, g.live, g.user, w.found, w.live, w.user)
				}
				if w.live {
					lives++
				}
			}
			if lives != 3+2 { // each live session at +1 min, the duplicates of the first
				t.Errorf("%d live answers, want 5: the fixture is wrong", lives)
			}

			// Through UserForSession, from many goroutines at once.
			var sizes atomic.Int64
			run := s.lookups.run
			s.lookups.run = func(ctx context.Context, batch []*lookup) error {
				if len(batch) > 1 {
					sizes.Add(1)
				}
				return run(ctx, batch)
			}
			var wg sync.WaitGroup
			for w := range 16 {
				wg.Go(func() {
					for r := range 40 {
						i := (w*7 + r) % len(questions)
						q := questions[i]
						u, err := s.UserForSession(ctx, q.userID, q.sessionID, q.now)
						var wantErr error
						switch {
						case !want[i].found:
							wantErr = auth.ErrUserNotFound
						case !want[i].live:
							wantErr = auth.ErrSessionRevoked
						}
						if !errors.Is(err, wantErr) || (wantErr == nil && (err != nil || !cmp.Equal(u, want[i].user))) {
							t.Errorf("UserForSession(%+v) = %+v, %v; want %v", q, u, err, wantErr)
							return
						}
					}
				})
			}
			wg.Wait()
			t.Logf("%d batches of more than one lookup in 640 concurrent lookups", sizes.Load())
		})
	}
}

// lookupQuestions stores three users, each with a live and a revoked
// session, and returns lookups that ask every kind of question of them:
// live, revoked, unknown and another user's sessions, before and after
// expiry and deadline, an unknown user, and duplicates.
func lookupQuestions(t *testing.T, s *Store) []lookup {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)
	var users []auth.User
	for i := range 3 {
		u, err := s.CreateUser(ctx, auth.NewUser{Email: fmt.Sprintf("u%d@example.com", i),
			PasswordHash: "$2a$04$x", IsActive: true, CreatedAt: t0, FirstName: "Ünï"})
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
		for _, id := range []string{"live", "revoked"} {
			sid := fmt.Sprintf("%s-%d", id, i)
			if err := s.CreateSession(ctx, auth.Session{ID: sid, UserID: u.ID, CreatedAt: t0, LastUsedAt: t0,
				ExpiresAt: t0.Add(time.Hour), Deadline: t0.Add(2 * time.Hour), AAL: "aal1", AMR: []string{"pwd"}},
				auth.RefreshToken{Hash: "rt-" + sid, SessionID: sid, UserID: u.ID, IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.RevokeSession(ctx, u.ID, fmt.Sprintf("revoked-%d", i), t0); err != nil {
			t.Fatal(err)
		}
	}
	var questions []lookup
	for i, u := range users {
		for _, sid := range []string{"live", "revoked", "none"} {
			for _, at := range []time.Duration{time.Minute, 2 * time.Hour, 3 * time.Hour} {
				questions = append(questions, lookup{userID: u.ID, sessionID: fmt.Sprintf("%s-%d", sid, i), now: t0.Add(at)})
			}
		}
		// Another user's live session, and an unknown user.
		questions = append(questions, lookup{userID: u.ID, sessionID: fmt.Sprintf("live-%d", (i+1)%3), now: t0.Add(time.Minute)},
			lookup{userID: u.ID + 1000, sessionID: fmt.Sprintf("live-%d", i), now: t0.Add(time.Minute)})
	}
	questions = append(questions, questions[0], questions[0]) // duplicates
	return questions
}

package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/watchfloor/watchfloor/gateway/access"
)

func TestWaitAfter(t *testing.T) {
	for failures, want := range []time.Duration{0, 0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second} {
		if got := waitAfter(failures); got != want {
			t.Errorf("waitAfter(%d) = %v, want %v", failures, got, want)
		}
	}
	if got := waitAfter(1 << 20); got != maxWait {
		t.Errorf("waitAfter(a million) = %v, want %v", got, maxWait)
	}
}

// A limiter holds at most its bound of keys of each kind: forgotten ones
// go first, then the one whose last failure is oldest.
func TestLimiterBounded(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	l := newLimiter(3)
	for i, k := range []string{"a", "b", "c"} {
		for range 3 {
			if _, ok := l.admit(k, "src-"+k, t0.Add(time.Duration(i)*time.Minute)); !ok {
				t.Fatalf("attempt for %s refused", k)
			}
		}
	}
	l.admit("d", "src-d", t0.Add(3*time.Minute))
	if u, s := l.sizes(); u != 3 || s != 3 {
		t.Fatalf("%d user keys and %d source keys, want 3 of each", u, s)
	}
	r, ok := l.admit("b", "src-y", t0.Add(time.Minute+500*time.Millisecond))
	if ok || r.user != 500*time.Millisecond || r.source != 0 || !r.tellUser {
		t.Errorf("b: %+v, %v; want a wait of 0.5s for the user, told", r, ok)
	}
	if r, _ := l.admit("b", "src-z", t0.Add(time.Minute+600*time.Millisecond)); r.tellUser {
		t.Error("a second refusal in one wait is told again")
	}
	if _, ok := l.admit("a", "src-x", t0.Add(3*time.Minute)); !ok {
		t.Error("the stalest key a was not dropped")
	}
	// Past forgetAfter, every key is forgotten to make room.
	l.admit("e", "src-e", t0.Add(20*time.Minute))
	if u, s := l.sizes(); u != 1 || s != 1 {
		t.Errorf("%d and %d keys after the others were forgotten, want 1 and 1", u, s)
	}
}

// An IPv6 address is counted as its /64; any other source as it is.
func TestSourceKey(t *testing.T) {
	f := func(src, want string) {
		t.Helper()
		if got := sourceKey(src); got != want {
			t.Errorf("sourceKey(%q) = %q, want %q", src, got, want)
		}
	}
	f("192.0.2.1", "192.0.2.1")
	f("::ffff:192.0.2.1", "::ffff:192.0.2.1")
	f("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64")
	f("fe80::1%eth0", "fe80::/64")
	f("::1", "::/64")
	f("unknown", "unknown")
}

// A success forgets its user's failures but takes back only its own
// attempt from its source's.
func TestLimiterSucceeded(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	l := newLimiter(10)
	for _, u := range []string{"a", "b", "c"} {
		if _, ok := l.admit(u, "src", t0); !ok {
			t.Fatalf("attempt for %s refused", u)
		}
	}
	now := t0.Add(time.Second)
	if _, ok := l.admit("me", "src", now); !ok {
		t.Fatal("the attempt after the wait refused")
	}
	l.succeeded("me", "src", now)
	if l.users["me"] != nil {
		t.Error("the user's failures outlived its login")
	}
	if k := l.sources["src"]; k == nil || k.failures != 3 || k.until.After(now) {
		t.Errorf("the source after a login: %+v, want its 3 failures and no wait", k)
	}
	l.admit("d", "src", now)
	if r, ok := l.admit("e", "src", now); ok || r.source != 2*time.Second {
		t.Errorf("the source's next failure: %+v, %v; want a wait of 2 s", r, ok)
	}
	l.succeeded("x", "lone", now) // a source with no failures
	if l.sources["lone"] != nil {
		t.Error("a success made a key")
	}
}

// Password checks beyond the bound wait for a slot, and give up when
// their request does, without checking anything.
func TestPasswordChecksBounded(t *testing.T) {
	cheap := access.PasswordParams{Memory: 64, Time: 1, Threads: 1}
	hash, err := access.HashPasswordWith("the-password", cheap)
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{hashing: make(chan struct{}, 2)}
	for range cap(s.hashing) {
		s.hashing <- struct{}{} // every slot busy
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.checkPassword(ctx, hash, "the-password")
		done <- err
	}()
	cancel()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "too many logins at once") {
		t.Errorf("a check with every slot busy and its request gone: %v", err)
	}
	<-s.hashing
	if ok, err := s.checkPassword(context.Background(), hash, "the-password"); !ok || err != nil {
		t.Errorf("a check with a free slot: %v, %v", ok, err)
	}
}

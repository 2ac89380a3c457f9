package auth

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestDummyHashWellFormed shows that the dummy compared for unknown emails
// is read by bcrypt as a hash of the configured cost, differs every time
// (random salt and digest), and matches no password: bcrypt reports a
// mismatch, never another error, so the full comparison runs.
func TestDummyHashWellFormed(t *testing.T) {
	for _, cost := range []int{bcrypt.MinCost, 10, 12, bcrypt.MaxCost} {
		a, err := dummyHash(cost)
		if err != nil {
			t.Fatalf("dummyHash(%d): %v", cost, err)
		}
		b, _ := dummyHash(cost)
		if got, err := bcrypt.Cost(a); err != nil || got != cost {
			t.Errorf("bcrypt.Cost(dummy at %d) = %d, %v", cost, got, err)
		}
		if len(a) != 60 || slices.Equal(a, b) {
			t.Errorf("dummy at cost %d: %q then %q; want 60 bytes, different each time", cost, a, b)
		}
	}
	for _, bad := range []int{bcrypt.MinCost - 1, bcrypt.MaxCost + 1} {
		if _, err := dummyHash(bad); err == nil {
			t.Errorf("dummyHash(%d) accepted an invalid cost", bad)
		}
	}
	h, err := dummyHash(bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"", "x", "authserve dummy password for timing", "Correct-Horse-42", string(h)} {
		if err := bcrypt.CompareHashAndPassword(h, []byte(pw)); !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			t.Errorf("CompareHashAndPassword(dummy, %q) = %v, want a mismatch", pw, err)
		}
	}
}

// TestNewHasherComputesNothing shows that building a hasher at a high cost
// is immediate: start-up does no bcrypt work before the listener answers.
// One comparison at cost 14 takes about a second here.
func TestNewHasherComputesNothing(t *testing.T) {
	start := time.Now()
	if _, err := NewHasher(14, 1, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("NewHasher(14) took %v; it must not hash", d)
	}
}

// TestDummyComparisonCostsARealOne shows that comparing a password for an
// unknown email takes as long as comparing it with a real hash of the same
// cost, from the hasher's very first comparison on: fresh hashers, the
// dummy arm first, interleaved, minimums of the arms (the least disturbed
// by a shared machine).
func TestDummyComparisonCostsARealOne(t *testing.T) {
	const cost = 8 // ~15-20 ms a comparison: long beside noise, short for CI
	real, err := bcrypt.GenerateFromPassword([]byte("Correct-Horse-42"), cost)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	timed := func(h *Hasher, hash string) time.Duration {
		t0 := time.Now()
		ok, err := h.Compare(ctx, hash, "Wr0ng-Password!")
		d := time.Since(t0)
		if ok || err != nil {
			t.Fatalf("Compare = %v, %v; want false, nil", ok, err)
		}
		return d
	}
	var dummy, known []time.Duration
	for range 7 {
		h, err := NewHasher(cost, 1, time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		dummy = append(dummy, timed(h, "")) // the first comparison of a new hasher
		known = append(known, timed(h, string(real)))
	}
	md, mk := slices.Min(dummy), slices.Min(known)
	ratio := float64(md) / float64(mk)
	t.Logf("cost %d: fastest dummy comparison %v, fastest real one %v (ratio %.3f)", cost, md, mk, ratio)
	if ratio < 0.8 || ratio > 1.25 {
		t.Errorf("dummy / real comparison = %.3f (%v / %v), want within [0.8, 1.25]", ratio, md, mk)
	}
}

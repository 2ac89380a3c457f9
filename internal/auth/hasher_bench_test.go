package auth

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkHasher measures one bcrypt hash and one comparison through the
// pool at the costs worth comparing: 10 (the benchmarks' and the load
// tool's) and 12 (the default). The pool's own overhead is a channel send
// and receive; everything else is bcrypt.
func BenchmarkHasher(b *testing.B) {
	ctx := context.Background()
	const password = "Correct-Horse-42"
	for _, cost := range []int{10, 12} {
		h, err := NewHasher(cost, 1, time.Minute, nil)
		if err != nil {
			b.Fatal(err)
		}
		hash, err := h.Hash(ctx, password)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("Hash/cost=%d", cost), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h.Hash(ctx, password); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("Compare/cost=%d", cost), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ok, err := h.Compare(ctx, hash, password)
				if err != nil || !ok {
					b.Fatalf("Compare = %v, %v, want true, nil", ok, err)
				}
			}
		})
		b.Run(fmt.Sprintf("CompareUnknown/cost=%d", cost), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ok, err := h.Compare(ctx, "", password); err != nil || ok {
					b.Fatalf("Compare(dummy) = %v, %v, want false, nil", ok, err)
				}
			}
		})
	}
}

package sqlstore

import (
	"testing"

	"github.com/authserve/authserve/internal/breaker"
	"github.com/authserve/authserve/internal/storetest"
)

func TestAdminStore(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			e.skip(t)
			storetest.RunAdmin(t, func(t *testing.T) storetest.AdminStore { return openMigrated(t, e.opts(t)) })
		})
	}
}

// TestAdminStoreThroughBreaker: the breaker's wrappers pass every call,
// and its context, through.
func TestAdminStoreThroughBreaker(t *testing.T) {
	storetest.RunAdmin(t, func(t *testing.T) storetest.AdminStore {
		db := openMigrated(t, Options{Driver: "sqlite", DSN: ":memory:"})
		return breaker.NewStore(db, db, breaker.Options{})
	})
}

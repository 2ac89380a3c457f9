package token

import "sync"

// verifiedCacheSize bounds the remembered tokens: at 15-minute lifetimes it
// covers tens of thousands of active users in about 2 MiB.
const verifiedCacheSize = 8192

// verifiedCache maps raw tokens that passed full verification to their
// claims. Keys are the exact token bytes, so only a token already verified
// can hit; the keys that verified it cannot change while the process runs.
// When full, an arbitrary entry makes room: an evicted token is simply
// verified again.
type verifiedCache struct {
	mu  sync.RWMutex
	m   map[string]Claims
	max int
}

func newVerifiedCache(max int) *verifiedCache {
	// The map grows with use: an idle process should not carry a full cache.
	return &verifiedCache{m: make(map[string]Claims), max: max}
}

func (c *verifiedCache) get(raw string) (Claims, bool) {
	c.mu.RLock()
	cl, ok := c.m[raw]
	c.mu.RUnlock()
	return cl, ok
}

func (c *verifiedCache) put(raw string, cl Claims) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[raw] = cl
}

package sqlstore

import "testing"

func TestMySQLHasSkipLocked(t *testing.T) {
	tests := []struct {
		version string
		want    bool
	}{
		{"10.5.23-MariaDB-1:10.5.23+maria~deb11", false},
		{"10.5.0-MariaDB", false},
		{"10.4.34-MariaDB-log", false},
		{"10.3.39-MariaDB", false},
		{"10.6.0-MariaDB", true},
		{"10.6.18-MariaDB-0ubuntu0.22.04.1", true},
		{"10.11.19-MariaDB-0+deb12u1", true},
		{"11.4.2-MariaDB", true},
		{"12.0.1-MariaDB-ubu2404", true},
		{"5.5.5-10.5.23-MariaDB-1:10.5.23+maria~deb11", false}, // handshake form
		{"5.5.5-10.11.6-MariaDB", true},
		{"10.5.23-mariadb", false}, // case
		{"8.0.36", true},           // MySQL
		{"8.0.36-0ubuntu0.22.04.1", true},
		{"8.0.36-28", true}, // Percona Server
		{"8.4.3", true},
		{"9.1.0-commercial", true},
		{"5.7.44-log", false}, // MySQL 5.7: no SKIP LOCKED either
		// Unreadable: no SKIP LOCKED, correct everywhere (see
		// mysqlHasSkipLocked).
		{"", false},
		{"garbage", false},
		{"MariaDB", false},
		{"10", false},
		{"x.y.z-MariaDB", false},
		{"10..5-MariaDB", false},
	}
	for _, tc := range tests {
		if got := mysqlHasSkipLocked(tc.version); got != tc.want {
			t.Errorf("mysqlHasSkipLocked(%q) = %v, want %v", tc.version, got, tc.want)
		}
	}
}

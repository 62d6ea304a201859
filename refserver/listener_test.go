package refserver_test

import (
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/spotzeekit/spotzee-keys/refserver"
)

func TestLimitListener(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		limit int
		dial  int
		want  int32 // accepted while none is closed
	}{
		{"below the cap", 3, 2, 2},
		{"at the cap", 2, 2, 2},
		{"over the cap", 2, 5, 2},
		{"no cap", 0, 4, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inner, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			ln := refserver.LimitListener(inner, tt.limit)
			var accepted atomic.Int32
			conns := make(chan net.Conn, tt.dial)
			acceptDone := make(chan error, 1)
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						acceptDone <- err
						return
					}
					accepted.Add(1)
					conns <- c
				}
			}()
			for range tt.dial {
				c, err := net.Dial("tcp", inner.Addr().String())
				require.NoError(t, err)
				t.Cleanup(func() { _ = c.Close() })
			}
			require.Eventually(t, func() bool { return accepted.Load() == tt.want }, 5*time.Second, 5*time.Millisecond)
			time.Sleep(50 * time.Millisecond)
			assert.Equal(t, tt.want, accepted.Load(), "no more than the cap at once")

			if int32(tt.dial) > tt.want {
				// Closing one (twice: the slot is given back once) lets one more in.
				c := <-conns
				require.NoError(t, c.Close())
				_ = c.Close()
				require.Eventually(t, func() bool { return accepted.Load() == tt.want+1 }, 5*time.Second, 5*time.Millisecond)
				time.Sleep(50 * time.Millisecond)
				assert.Equal(t, tt.want+1, accepted.Load())
			}

			require.NoError(t, ln.Close())
			err = <-acceptDone
			assert.True(t, errors.Is(err, net.ErrClosed), "Accept after Close: %v", err)
			close(conns)
			for c := range conns {
				_ = c.Close()
			}
		})
	}
}

package refserver

import (
	"net"
	"sync"
)

// DefaultMaxConnections is the connection cap `spotzee-keys serve` uses.
const DefaultMaxConnections = 512

// LimitListener returns a listener that accepts at most n connections at
// once from l: Accept waits while n accepted connections are still open,
// so a flood of clients queues in the kernel's backlog instead of taking a
// goroutine and buffers each. n of 0 or less returns l unchanged. Accept
// returns l's errors, and net.ErrClosed once the listener is closed.
func LimitListener(l net.Listener, n int) net.Listener {
	if n <= 0 {
		return l
	}
	return &limitListener{Listener: l, sem: make(chan struct{}, n), done: make(chan struct{})}
}

type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

// limitConn gives its slot back once, on its first Close.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// Package mqttconn dials MQTT brokers for paho with a buffered, write-
// coalescing connection: paho reads packets a byte or two at a time and
// writes every packet with its own system call, which at tens of thousands
// of messages per second is most of a client's CPU.
package mqttconn

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// paho reads packets from the raw connection a byte or two at a time and
// writes every PUBACK with its own system call; at tens of thousands of
// messages per second those system calls are most of the ingester's CPU.
// bufferedConn reads through a buffer and coalesces writes, flushing them
// within flushDelay (or at once when the buffer fills).
type bufferedConn struct {
	net.Conn
	r *bufio.Reader

	mu        sync.Mutex
	w         *bufio.Writer
	scheduled bool
	err       error
}

const flushDelay = time.Millisecond

func newBufferedConn(c net.Conn) *bufferedConn {
	return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriterSize(c, 32<<10)}
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *bufferedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	if err != nil {
		c.err = err
		return n, err
	}
	if !c.scheduled {
		c.scheduled = true
		time.AfterFunc(flushDelay, c.flush)
	}
	return n, nil
}

func (c *bufferedConn) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scheduled = false
	if c.err == nil {
		c.err = c.w.Flush()
	}
}

func (c *bufferedConn) Close() error {
	c.flush()
	return c.Conn.Close()
}

// Open dials tcp:// and ssl:// (tls://, mqtts://) brokers with a buffered
// connection; use it as paho's CustomOpenConnectionFn when Supports says so.
func Open(uri *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
	d := &net.Dialer{Timeout: o.ConnectTimeout}
	if o.Dialer != nil {
		d = o.Dialer
	}
	switch uri.Scheme {
	case "tcp", "mqtt":
		c, err := d.Dial("tcp", uri.Host)
		if err != nil {
			return nil, err
		}
		return newBufferedConn(c), nil
	case "ssl", "tls", "mqtts", "tcps":
		c, err := tls.DialWithDialer(d, "tcp", uri.Host, o.TLSConfig)
		if err != nil {
			return nil, err
		}
		return newBufferedConn(c), nil
	}
	return nil, fmt.Errorf("mqttconn: scheme %q is not dialled with a buffered connection", uri.Scheme)
}

// Supports reports whether Open handles the broker URL's scheme (not ws://).
func Supports(broker string) bool {
	u, err := url.Parse(broker)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "tcps":
		return true
	}
	return false
}

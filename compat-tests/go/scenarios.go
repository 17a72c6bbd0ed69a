// Command scenarios drives the Go ZooKeeper client (Debian's
// golang-github-samuel-go-zookeeper-dev) against one server and prints one
// line per observation, with no times, zxids or session ids, so that the
// transcripts of two servers can be compared line by line.
//
// Usage: scenarios host:port
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/samuel/go-zookeeper/zk"
)

type quiet struct{}

func (quiet) Printf(string, ...interface{}) {}

var server string

func say(scenario, format string, args ...interface{}) {
	fmt.Printf("%s: %s\n", scenario, fmt.Sprintf(format, args...))
}

// connect opens a session and waits until it has one.
func connect() *zk.Conn {
	c, events, err := zk.Connect([]string{server}, 10*time.Second, zk.WithLogger(quiet{}))
	if err != nil {
		fmt.Printf("ERROR connect: %v\n", err)
		os.Exit(1)
	}
	deadline := time.After(15 * time.Second)
	for {
		select {
		case e := <-events:
			if e.State == zk.StateHasSession {
				return c
			}
		case <-deadline:
			fmt.Println("ERROR connect: no session within 15 s")
			os.Exit(1)
		}
	}
}

func stat(s *zk.Stat) string {
	owner := "none"
	if s.EphemeralOwner != 0 {
		owner = "session"
	}
	return fmt.Sprintf("version=%d cversion=%d aversion=%d dataLength=%d numChildren=%d owner=%s",
		s.Version, s.Cversion, s.Aversion, s.DataLength, s.NumChildren, owner)
}

// outcome names an error as the client reports it ("ok" for none).
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func event(ch <-chan zk.Event) string {
	select {
	case e := <-ch:
		return fmt.Sprintf("%s %s", e.Type, e.Path)
	case <-time.After(10 * time.Second):
		return "no event within 10 s"
	}
}

func crud(c *zk.Conn) {
	const s = "crud"
	acl := zk.WorldACL(zk.PermAll)
	p, err := c.Create("/go", nil, 0, acl)
	say(s, "create /go -> %s %s", p, outcome(err))
	p, err = c.Create("/go/a", []byte("v0"), 0, acl)
	say(s, "create /go/a -> %s %s", p, outcome(err))
	data, st, err := c.Get("/go/a")
	say(s, "get /go/a %q %s %s", data, stat(st), outcome(err))
	st, err = c.Set("/go/a", []byte("v1"), 0)
	say(s, "set version 0 -> %s %s", stat(st), outcome(err))
	_, err = c.Set("/go/a", []byte("v2"), 0)
	say(s, "set stale version -> %s", outcome(err))
	_, err = c.Create("/go/a", nil, 0, acl)
	say(s, "create existing -> %s", outcome(err))
	_, err = c.Create("/go/missing/x", nil, 0, acl)
	say(s, "create without parent -> %s", outcome(err))
	_, err = c.Create("/go/a/b", []byte("child"), 0, acl)
	say(s, "create /go/a/b -> %s", outcome(err))
	err = c.Delete("/go/a", -1)
	say(s, "delete non-empty -> %s", outcome(err))
	err = c.Delete("/go/a/b", 5)
	say(s, "delete wrong version -> %s", outcome(err))
	_, _, err = c.Get("/go/nothing")
	say(s, "get missing -> %s", outcome(err))
	ok, _, err := c.Exists("/go/nothing")
	say(s, "exists missing -> %v %s", ok, outcome(err))
	ok, st, err = c.Exists("/go/a")
	say(s, "exists /go/a -> %v %s %s", ok, stat(st), outcome(err))
	_, err = c.Create("bad/path", nil, 0, acl)
	say(s, "create relative path -> %s", outcome(err))
	p, err = c.Sync("/go")
	say(s, "sync -> %s %s", p, outcome(err))
}

func sequential(c *zk.Conn) {
	const s = "sequential"
	acl := zk.WorldACL(zk.PermAll)
	c.Create("/go/seq", nil, 0, acl)
	for i := 0; i < 3; i++ {
		p, err := c.Create("/go/seq/n-", nil, zk.FlagSequence, acl)
		say(s, "create -> %s %s", p, outcome(err))
	}
	say(s, "delete n-0000000001 -> %s", outcome(c.Delete("/go/seq/n-0000000001", -1)))
	p, err := c.Create("/go/seq/n-", nil, zk.FlagSequence, acl)
	say(s, "create after delete -> %s %s", p, outcome(err))
	children, st, err := c.Children("/go/seq")
	sort.Strings(children)
	say(s, "children %v %s %s", children, stat(st), outcome(err))
	p, err = c.CreateProtectedEphemeralSequential("/go/seq/lock-", nil, acl)
	name := p[strings.LastIndex(p, "/")+1:]
	guid := strings.HasPrefix(name, "_c_") && len(name) == len("_c_")+32+1+len("lock-")+10
	say(s, "protected ephemeral sequential: _c_<guid>-lock-<10 digits> %v, sequence %s %s",
		guid, name[len(name)-10:], outcome(err))
}

func watches(c *zk.Conn) {
	const s = "watches"
	acl := zk.WorldACL(zk.PermAll)
	_, _, data, err := c.GetW("/go/a")
	say(s, "getW -> %s", outcome(err))
	c.Set("/go/a", []byte("v3"), -1)
	say(s, "data watch: %s", event(data))
	_, _, created, err := c.ExistsW("/go/w")
	say(s, "existsW missing -> %s", outcome(err))
	c.Create("/go/w", nil, 0, acl)
	say(s, "exists watch: %s", event(created))
	_, _, kids, err := c.ChildrenW("/go/w")
	say(s, "childrenW -> %s", outcome(err))
	c.Create("/go/w/k", nil, 0, acl)
	say(s, "child watch: %s", event(kids))
	_, _, gone, _ := c.GetW("/go/w/k")
	c.Delete("/go/w/k", -1)
	say(s, "delete watch: %s", event(gone))
}

func ephemerals(c *zk.Conn) {
	const s = "ephemeral"
	acl := zk.WorldACL(zk.PermAll)
	c.Create("/go/eph", nil, 0, acl)
	owner := connect()
	p, err := owner.Create("/go/eph/node", []byte("e"), zk.FlagEphemeral, acl)
	say(s, "create -> %s %s", p, outcome(err))
	_, st, _ := c.Get("/go/eph/node")
	say(s, "stat %s", stat(st))
	_, err = owner.Create("/go/eph/node/child", nil, 0, acl)
	say(s, "child of ephemeral -> %s", outcome(err))
	_, _, deleted, _ := c.ExistsW("/go/eph/node")
	_, _, kids, _ := c.ChildrenW("/go/eph")
	owner.Close()
	say(s, "owner closed: %s | %s", event(deleted), event(kids))
	children, _, err := c.Children("/go/eph")
	say(s, "children after close %v %s", children, outcome(err))
}

func multi(c *zk.Conn) {
	const s = "multi"
	acl := zk.WorldACL(zk.PermAll)
	res, err := c.Multi(
		&zk.CreateRequest{Path: "/go/m", Data: []byte("1"), Acl: acl},
		&zk.SetDataRequest{Path: "/go/m", Data: []byte("2"), Version: 0},
		&zk.CheckVersionRequest{Path: "/go/m", Version: 1},
		&zk.CreateRequest{Path: "/go/m/c", Acl: acl},
		&zk.DeleteRequest{Path: "/go/m/c", Version: 0},
	)
	say(s, "ok -> %s", outcome(err))
	for i, r := range res {
		detail := r.String
		if r.Stat != nil {
			detail += " " + stat(r.Stat)
		}
		say(s, "  op %d: %q %s", i, detail, outcome(r.Error))
	}
	res, err = c.Multi(
		&zk.SetDataRequest{Path: "/go/m", Data: []byte("3"), Version: 1},
		&zk.CheckVersionRequest{Path: "/go/m", Version: 7},
		&zk.CreateRequest{Path: "/go/m/d", Acl: acl},
	)
	say(s, "failing check -> %s", outcome(err))
	for i, r := range res {
		say(s, "  op %d: %s", i, outcome(r.Error))
	}
	data, st, _ := c.Get("/go/m")
	say(s, "after rollback %q %s", data, stat(st))
}

func acls(c *zk.Conn) {
	const s = "acl"
	got, st, err := c.GetACL("/go")
	say(s, "default %v %s %s", got, stat(st), outcome(err))
	say(s, "addAuth -> %s", outcome(c.AddAuth("digest", []byte("alice:secret"))))
	p, err := c.Create("/go/private", []byte("s"), 0, zk.DigestACL(zk.PermAll, "alice", "secret"))
	say(s, "create digest-only -> %s %s", p, outcome(err))
	got, _, err = c.GetACL("/go/private")
	say(s, "acl %v %s", got, outcome(err))
	stranger := connect()
	defer stranger.Close()
	_, _, err = stranger.Get("/go/private")
	say(s, "stranger get -> %s", outcome(err))
	_, err = stranger.Set("/go/private", nil, -1)
	say(s, "stranger set -> %s", outcome(err))
	st, err = c.SetACL("/go/private", zk.WorldACL(zk.PermRead), 0)
	say(s, "setACL read-only -> %s %s", stat(st), outcome(err))
	data, _, err := stranger.Get("/go/private")
	say(s, "stranger get now %q %s", data, outcome(err))
	_, err = c.SetACL("/go/private", zk.WorldACL(zk.PermAll), -1)
	say(s, "setACL without ADMIN -> %s", outcome(err))
	_, err = c.SetACL("/go/a", zk.WorldACL(zk.PermAll), 5)
	say(s, "setACL stale version -> %s", outcome(err))
}

func lock(c *zk.Conn) {
	const s = "lock"
	acl := zk.WorldACL(zk.PermAll)
	other := connect()
	defer other.Close()
	first, second := zk.NewLock(c, "/go/lock", acl), zk.NewLock(other, "/go/lock", acl)
	say(s, "first lock -> %s", outcome(first.Lock()))
	acquired := make(chan error, 1)
	go func() { acquired <- second.Lock() }()
	select {
	case <-acquired:
		say(s, "second acquired while first holds it")
	case <-time.After(500 * time.Millisecond):
		say(s, "second waits while first holds it")
	}
	say(s, "first unlock -> %s", outcome(first.Unlock()))
	select {
	case err := <-acquired:
		say(s, "second lock -> %s", outcome(err))
	case <-time.After(10 * time.Second):
		say(s, "second never acquired")
	}
	say(s, "second unlock -> %s", outcome(second.Unlock()))
	children, _, _ := c.Children("/go/lock")
	say(s, "left behind %v", children)
}

func fourLetterWords() {
	const s = "flw"
	say(s, "ruok %v", zk.FLWRuok([]string{server}, 5*time.Second))
	clients, ok := zk.FLWCons([]string{server}, 5*time.Second)
	if ok && len(clients) == 1 {
		say(s, "cons parsed, %d clients with a session", len(clients[0].Clients))
	} else {
		say(s, "cons not parsed")
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: scenarios host:port")
		os.Exit(2)
	}
	server = os.Args[1]
	time.AfterFunc(50*time.Second, func() {
		fmt.Println("ERROR watchdog: scenarios did not finish within 50 s")
		os.Exit(1)
	})
	c := connect()
	say("session", "state %s, session id set %v", c.State(), c.SessionID() != 0)
	crud(c)
	sequential(c)
	watches(c)
	ephemerals(c)
	multi(c)
	acls(c)
	lock(c)
	fourLetterWords()
	c.Close()
	fmt.Println("-: done")
}

// Resolve a name with Go's own resolver (built with CGO_ENABLED=0, so
// never glibc's) and connect to it: "resolved ADDR", then "connected
// ADDR" or "refused", or "unresolved" (exit 3).
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	r := &net.Resolver{PreferGo: true}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	addrs, err := r.LookupIP(ctx, "ip4", os.Args[1])
	if err != nil {
		var dnsErr *net.DNSError
		fmt.Println("unresolved", errors.As(err, &dnsErr) && dnsErr.IsNotFound)
		os.Exit(3)
	}
	fmt.Println("resolved", addrs[0])
	c, err := net.DialTimeout("tcp", net.JoinHostPort(addrs[0].String(), os.Args[2]), 10*time.Second)
	if err != nil {
		fmt.Println("refused", err)
		return
	}
	fmt.Println("connected", addrs[0])
	c.Close()
}

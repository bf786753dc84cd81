// Go's unix listener reports its address from getsockname: under litebox it
// must be the path the program gave, and a client must reach it by that.
package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
)

func main() {
	path := filepath.Join(os.Args[1], "go.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	go func() {
		c, err := l.Accept()
		if err == nil {
			c.Write([]byte("hi"))
			c.Close()
		}
	}()
	c, err := net.Dial("unix", l.Addr().String())
	if err != nil {
		fmt.Println("dial:", err)
		os.Exit(1)
	}
	buf := make([]byte, 2)
	n, _ := c.Read(buf)
	fmt.Println(l.Addr().String() == path, c.RemoteAddr().String() == path, string(buf[:n]))
}

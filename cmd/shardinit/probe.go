package main

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"

	"github.com/urfave/cli/v2"
)

// probeCommand asks a running shardinit's /readyz or /livez and exits 0
// when it answers 200, 1 otherwise: a Docker HEALTHCHECK for an image
// without curl (HEALTHCHECK CMD ["/shardinit", "probe", "readyz"]).
var probeCommand = &cli.Command{
	Name:      "probe",
	Usage:     "exit 0 if a running shardinit's /readyz (or /livez) answers 200, else 1 (a HEALTHCHECK without curl)",
	UsageText: "shardinit probe [--health-addr ADDR] [--config FILE] readyz|livez",
	Flags:     []cli.Flag{configFlag, healthAddrFlag()},
	Action: func(c *cli.Context) error {
		which := c.Args().First()
		if c.NArg() != 1 || (which != "readyz" && which != "livez") {
			return usagef("probe: want readyz or livez, not %q", strings.Join(c.Args().Slice(), " "))
		}
		vals, err := resolve(c)
		if err != nil {
			return err
		}
		hostport, err := healthHost("probe", vals["health-addr"].text)
		if err != nil {
			return err
		}
		resp, err := httpGet(hostport, "/"+which)
		if err != nil {
			return fmt.Errorf("probe: %w", err)
		}
		defer resp.Body.Close()
		line, _ := bufio.NewReader(resp.Body).ReadString('\n')
		line = visible(strings.TrimSpace(line))
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("probe: /%s: %s: %s", which, visible(resp.Status), line)
		}
		fmt.Fprintf(c.App.Writer, "/%s: %s\n", which, line)
		return nil
	},
	OnUsageError: onUsageError,
}

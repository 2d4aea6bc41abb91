package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// UserCmd groups the user commands.
type UserCmd struct {
	Create UserCreateCmd `cmd:"" help:"Create a user. The password is read from KIZUNA_PASSWORD, or asked for on a terminal, or read from the first line of standard input."`
	List   UserListCmd   `cmd:"" help:"List users."`
}

// UserCreateCmd creates a user.
type UserCreateCmd struct {
	Email string `arg:"" help:"Email address (the login)."`
	Role  string `default:"csm" enum:"admin,manager,csm,viewer" help:"Role: admin, manager, csm or viewer."`
	Name  string `help:"Display name."`
}

// Run creates the user.
func (c UserCreateCmd) Run(ctx context.Context, g *Globals) error {
	password, err := readPassword()
	if err != nil {
		return err
	}
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := user.Create(ctx, db, c.Email, c.Name, c.Role, password)
	if err != nil {
		return err
	}
	if err := audit.Record(ctx, db, audit.CLIActor(), audit.ActionCreate, "user", u.ID, nil, u); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "created user %s (%s)\n", u.Email, u.Role)
	return nil
}

// readPassword takes the password from KIZUNA_PASSWORD (never from a flag,
// which other users could see in the process list), a terminal prompt, or stdin.
func readPassword() (string, error) {
	if p := os.Getenv("KIZUNA_PASSWORD"); p != "" {
		return p, nil
	}
	if term.IsTerminal(int(os.Stdin.Fd())) {
		fmt.Fprint(os.Stderr, "Password: ")
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(os.Stderr)
		return string(b), err
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		if err != nil {
			return "", errors.New("no password: set KIZUNA_PASSWORD or give it on standard input")
		}
	}
	return line, nil
}

// UserListCmd lists users.
type UserListCmd struct{}

// Run lists the users.
func (UserListCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	us, err := user.List(ctx, db)
	if err != nil {
		return err
	}
	for _, u := range us {
		fmt.Fprintf(g.stdout, "%s\t%s\t%s\n", u.Email, u.Role, u.Name)
	}
	return nil
}

/* test_failpoint.c - SLOGPIPE_FAILPOINT: the Nth hit (not N-1, not N+1) kills, other names and malformed entries do not, stop stops. */
#include "sp_test.h"
#include "../../core/sp_failpoint.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run a child with SLOGPIPE_FAILPOINT=spec that hits `name` up to 100 times,
 * reporting each hit it survived on a pipe. Returns the survived hits; *sig
 * gets the signal that ended it (0: it exited). */
static int hits_survived(const char *spec, const char *name, int *sig)
{
    int fd[2], st = 0, n = 0;
    char c;
    pid_t pid;

    CHECK_INT(pipe(fd), 0);
    pid = fork();
    if (pid == 0) {
        close(fd[0]);
        setenv("SLOGPIPE_FAILPOINT", spec, 1);
        for (int i = 0; i < 100; i++) {
            SP_FAILPOINT("other.point");
            SP_FAILPOINT(name);
            if (write(fd[1], "x", 1) != 1) _exit(2);
        }
        _exit(0);
    }
    close(fd[1]);
    while (read(fd[0], &c, 1) == 1) n++;
    close(fd[0]);
    CHECK_INT(waitpid(pid, &st, 0), pid);
    *sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
    return n;
}

static void test_kill_at_nth(void)
{
    int sig;
    CHECK_INT(hits_survived("commit.before:1", "commit.before", &sig), 0);
    CHECK_INT(sig, SIGKILL);
    CHECK_INT(hits_survived("commit.before:7", "commit.before", &sig), 6);
    CHECK_INT(sig, SIGKILL);
    CHECK_INT(hits_survived("commit.before:7:kill", "commit.before", &sig), 6);
    CHECK_INT(sig, SIGKILL);
    /* a list: the first entry to reach its count wins */
    CHECK_INT(hits_survived("a.b:50,line.parsed:3", "line.parsed", &sig), 2);
    CHECK_INT(sig, SIGKILL);
    /* another name, a count never reached, malformed entries: no effect */
    CHECK_INT(hits_survived("line.parsed:3", "commit.before", &sig), 100);
    CHECK_INT(sig, 0);
    CHECK_INT(hits_survived("commit.before:101", "commit.before", &sig), 100);
    CHECK_INT(sig, 0);
    CHECK_INT(hits_survived("commit.before,commit.before:0,commit.before:x,:3,commit.before:2:explode",
                            "commit.before", &sig), 100);
    CHECK_INT(sig, 0);
}

/* :stop stops the process at the Nth hit; it goes on after SIGCONT. */
static void test_stop(void)
{
    int fd[2], st = 0, n = 0;
    char c;
    pid_t pid;

    CHECK_INT(pipe(fd), 0);
    pid = fork();
    if (pid == 0) {
        close(fd[0]);
        setenv("SLOGPIPE_FAILPOINT", "line.parsed:4:stop", 1);
        for (int i = 0; i < 10; i++) {
            SP_FAILPOINT("line.parsed");
            if (write(fd[1], "x", 1) != 1) _exit(2);
        }
        _exit(0);
    }
    close(fd[1]);
    CHECK_INT(waitpid(pid, &st, WUNTRACED), pid);
    CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
    for (int i = 0; i < 3; i++) n += read(fd[0], &c, 1) == 1;
    CHECK_INT(n, 3); /* three hits survived before the stop */
    kill(pid, SIGCONT);
    while (read(fd[0], &c, 1) == 1) n++;
    close(fd[0]);
    CHECK_INT(waitpid(pid, &st, 0), pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_INT(n, 10);
}

int main(void)
{
    test_kill_at_nth();
    test_stop();
    return TEST_DONE();
}

/* init.c -- /init of the Linux boot guests/linux/build.sh makes: says where it runs, computes
 * with the x87, and powers the machine off. Built static for i386 (gcc -m32 -static). */
#include <stdio.h>
#include <sys/reboot.h>
#include <sys/utsname.h>
#include <unistd.h>

int main(void) {
    struct utsname u;
    uname(&u);
    printf("hello from user space on %s %s %s\n", u.sysname, u.release, u.machine);
    double x = 2.0;
    for (int i = 0; i < 5; i++)
        x = x / 2 + 1 / x;
    printf("sqrt(2) ~ %.9f\n", x);
    fflush(stdout);
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}

/*
 * kernel.c -- tinyos, a tutorial-style i386 kernel in C: loaded by its own boot sector
 * (boot.asm), it sets up an IDT, remaps the PICs, runs the PIT at 100 Hz and the keyboard on
 * IRQ 1, turns on 32-bit paging without PAE, and runs a shell on the VGA text screen (mirrored
 * to COM1). Its commands show the rest: a page fault the kernel recovers from, a system call
 * through `int 0x80`, the timer's ticks. Built by build.sh.
 */
#include <stdint.h>

#define COM1 0x3F8
#define DEBUG_EXIT 0xF4
#define PIC1 0x20
#define PIC2 0xA0
#define PIT_HZ 100
#define PIT_INPUT 1193182
#define COLUMNS 80
#define ROWS 25
#define ATTR 0x1F00 /* white on blue */
#define LAZY_PAGE 0x00400000u /* mapped by the page-fault handler on first touch */
#define LAZY_FRAME 0x00080000u
#define LINE_MAX 64

static volatile uint16_t *const vga = (volatile uint16_t *)0xB8000;
static int row, column;
static volatile uint32_t ticks;
static volatile char keys[64];
static volatile uint32_t key_head, key_tail;
static int shifted;

static uint32_t page_directory[1024] __attribute__((aligned(4096)));
static uint32_t low_table[1024] __attribute__((aligned(4096)));
static uint32_t lazy_table[1024] __attribute__((aligned(4096)));

struct gate {
    uint16_t offset_low, selector;
    uint8_t zero, type;
    uint16_t offset_high;
} __attribute__((packed));

static struct gate idt[256];

struct table_register {
    uint16_t limit;
    uint32_t base;
} __attribute__((packed));

static inline void outb(uint16_t port, uint8_t value) {
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint8_t inb(uint16_t port) {
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

/* The screen and the serial port. */
static void scroll(void) {
    for (int i = 0; i < COLUMNS * (ROWS - 1); i++)
        vga[i] = vga[i + COLUMNS];
    for (int i = COLUMNS * (ROWS - 1); i < COLUMNS * ROWS; i++)
        vga[i] = ATTR | ' ';
    row = ROWS - 1;
}

static void put_char(char c) {
    while (!(inb(COM1 + 5) & 0x20))
        ;
    outb(COM1, (uint8_t)c);
    if (c == '\n') {
        column = 0;
        if (++row == ROWS)
            scroll();
        return;
    }
    if (c == '\b') {
        if (column > 0)
            vga[row * COLUMNS + --column] = ATTR | ' ';
        return;
    }
    vga[row * COLUMNS + column] = ATTR | (uint8_t)c;
    if (++column == COLUMNS)
        put_char('\n');
}

static void print(const char *s) {
    while (*s)
        put_char(*s++);
}

static void print_number(uint32_t n, unsigned base) {
    char digits[12];
    int i = 0;
    do {
        digits[i++] = "0123456789abcdef"[n % base];
        n /= base;
    } while (n);
    while (i)
        put_char(digits[--i]);
}

static void clear_screen(void) {
    for (int i = 0; i < COLUMNS * ROWS; i++)
        vga[i] = ATTR | ' ';
    row = column = 0;
}

/* Interrupt entry points: save the registers, call C, return with iret. */
#define ENTRY(name, handler)                                                                   \
    __asm__(".globl " #name "\n" #name ":\n pusha\n cld\n call " #handler "\n popa\n iret\n")
void timer_entry(void);
void keyboard_entry(void);
void syscall_entry(void);
void page_fault_entry(void);
void unexpected_entry(void);
ENTRY(timer_entry, timer_interrupt);
ENTRY(keyboard_entry, keyboard_interrupt);
ENTRY(unexpected_entry, unexpected_interrupt);
/* The page fault pushes an error code: pass its address, drop it before iret. */
__asm__(".globl page_fault_entry\npage_fault_entry:\n pusha\n cld\n lea 32(%esp), %eax\n"
        " push %eax\n call page_fault\n add $4, %esp\n popa\n add $4, %esp\n iret\n");
/* int 0x80: EAX the call (1: print the string at EBX), its result in EAX. */
__asm__(".globl syscall_entry\nsyscall_entry:\n pusha\n cld\n push %ebx\n push %eax\n"
        " call system_call\n add $8, %esp\n mov %eax, 28(%esp)\n popa\n iret\n");

__attribute__((used)) static void timer_interrupt(void) {
    ticks++;
    outb(PIC1, 0x20);
}

static const char keymap[2][58] = {
    {0,   27,  '1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '-', '=', '\b', '\t',
     'q', 'w', 'e', 'r', 't', 'y', 'u', 'i', 'o', 'p', '[', ']', '\n', 0,  'a', 's',
     'd', 'f', 'g', 'h', 'j', 'k', 'l', ';', '\'', '`', 0,  '\\', 'z', 'x', 'c', 'v',
     'b', 'n', 'm', ',', '.', '/', 0,   '*', 0,   ' '},
    {0,   27,  '!', '@', '#', '$', '%', '^', '&', '*', '(', ')', '_', '+', '\b', '\t',
     'Q', 'W', 'E', 'R', 'T', 'Y', 'U', 'I', 'O', 'P', '{', '}', '\n', 0,  'A', 'S',
     'D', 'F', 'G', 'H', 'J', 'K', 'L', ':', '"', '~', 0,   '|', 'Z', 'X', 'C', 'V',
     'B', 'N', 'M', '<', '>', '?', 0,   '*', 0,   ' '},
};

__attribute__((used)) static void keyboard_interrupt(void) {
    uint8_t code = inb(0x60);
    if (code == 0x2A || code == 0x36)
        shifted = 1;
    else if (code == 0xAA || code == 0xB6)
        shifted = 0;
    else if (code < sizeof keymap[0] && keymap[shifted][code]) {
        uint32_t next = (key_head + 1) % sizeof keys;
        if (next != key_tail) {
            keys[key_head] = keymap[shifted][code];
            key_head = next;
        }
    }
    outb(PIC1, 0x20);
}

__attribute__((used)) static void unexpected_interrupt(void) {
    print("unexpected interrupt\n");
}

__attribute__((used)) static void page_fault(uint32_t *error_code) {
    uint32_t address;
    __asm__ volatile("mov %%cr2, %0" : "=r"(address));
    print("page fault at 0x");
    print_number(address, 16);
    print(*error_code & 2 ? " (write" : " (read");
    print(*error_code & 1 ? ", protection): halted\n" : ", not present): mapped\n");
    if ((address & ~0x3FFFFFu) != LAZY_PAGE || (*error_code & 1)) {
        outb(DEBUG_EXIT, 0x0F);
        for (;;)
            __asm__ volatile("cli; hlt");
    }
    lazy_table[(address >> 12) & 0x3FF] = LAZY_FRAME | 3;
    page_directory[LAZY_PAGE >> 22] = (uint32_t)lazy_table | 3;
    __asm__ volatile("invlpg (%0)" : : "r"(address) : "memory");
}

__attribute__((used)) static uint32_t system_call(uint32_t number, const char *text) {
    if (number != 1)
        return (uint32_t)-1;
    print(text);
    return 0;
}

static void set_gate(int vector, void (*handler)(void), uint8_t type) {
    uint32_t at = (uint32_t)handler;
    idt[vector] = (struct gate){at & 0xFFFF, 0x08, 0, type, at >> 16};
}

static void set_up_interrupts(void) {
    for (int v = 0; v < 256; v++)
        set_gate(v, unexpected_entry, 0x8E);
    set_gate(14, page_fault_entry, 0x8E);
    set_gate(0x20, timer_entry, 0x8E);
    set_gate(0x21, keyboard_entry, 0x8E);
    set_gate(0x80, syscall_entry, 0xEE);
    struct table_register idtr = {sizeof idt - 1, (uint32_t)idt};
    __asm__ volatile("lidt %0" : : "m"(idtr));
    /* The PICs: IRQ 0-7 at 0x20, 8-15 at 0x28; only the timer and the keyboard. */
    outb(PIC1, 0x11);
    outb(PIC2, 0x11);
    outb(PIC1 + 1, 0x20);
    outb(PIC2 + 1, 0x28);
    outb(PIC1 + 1, 4);
    outb(PIC2 + 1, 2);
    outb(PIC1 + 1, 1);
    outb(PIC2 + 1, 1);
    outb(PIC1 + 1, 0xFC);
    outb(PIC2 + 1, 0xFF);
    uint16_t divisor = PIT_INPUT / PIT_HZ;
    outb(0x43, 0x36);
    outb(0x40, divisor & 0xFF);
    outb(0x40, divisor >> 8);
}

/* The first 4 MiB identity-mapped with 4 KiB pages; everything else faults. */
static void set_up_paging(void) {
    for (uint32_t i = 0; i < 1024; i++)
        low_table[i] = (i << 12) | 3;
    low_table[0] = 0; /* a null pointer faults */
    page_directory[0] = (uint32_t)low_table | 3;
    __asm__ volatile("mov %0, %%cr3\n"
                     "mov %%cr0, %%eax\n"
                     "or $0x80000000, %%eax\n"
                     "mov %%eax, %%cr0"
                     :
                     : "r"(page_directory)
                     : "eax", "memory");
}

static char read_key(void) {
    while (key_tail == key_head)
        __asm__ volatile("sti; hlt; cli");
    char c = keys[key_tail];
    key_tail = (key_tail + 1) % sizeof keys;
    return c;
}

static void read_line(char *line) {
    int length = 0;
    for (;;) {
        char c = read_key();
        if (c == '\n') {
            put_char('\n');
            line[length] = 0;
            return;
        }
        if (c == '\b') {
            if (length > 0) {
                length--;
                put_char('\b');
            }
        } else if (length < LINE_MAX - 1 && c >= ' ') {
            line[length++] = c;
            put_char(c);
        }
    }
}

static int same(const char *a, const char *b) {
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static void run_command(const char *line) {
    if (same(line, "help")) {
        print("commands: help ticks pagefault syscall clear exit\n");
    } else if (same(line, "ticks")) {
        print("ticks ");
        print_number(ticks, 10);
        print(" (100 Hz)\n");
    } else if (same(line, "pagefault")) {
        volatile uint32_t *lazy = (volatile uint32_t *)(LAZY_PAGE + 0x10);
        *lazy = 0x1234;
        print("wrote 0x");
        print_number(*lazy, 16);
        print(" at 0x");
        print_number((uint32_t)lazy, 16);
        print("\n");
    } else if (same(line, "syscall")) {
        uint32_t result;
        __asm__ volatile("int $0x80"
                         : "=a"(result)
                         : "a"(1), "b"("hello from int 0x80\n")
                         : "memory");
        print("syscall returned ");
        print_number(result, 10);
        print("\n");
    } else if (same(line, "clear")) {
        clear_screen();
    } else if (same(line, "exit")) {
        print("bye\n");
        outb(DEBUG_EXIT, 0x42);
    } else if (line[0]) {
        print("unknown command: ");
        print(line);
        print("\n");
    }
}

extern char __bss_start[], __bss_end[];

__attribute__((section(".text.entry"), noreturn)) void kernel_main(void) {
    for (char *p = __bss_start; p < __bss_end; p++)
        *p = 0;
    clear_screen();
    print("tinyos: protected mode, ");
    set_up_interrupts();
    print("IDT, PIC and PIT at 100 Hz, ");
    set_up_paging();
    print("paging on\n");
    char line[LINE_MAX];
    for (;;) {
        print("tinyos> ");
        read_line(line);
        run_command(line);
    }
}

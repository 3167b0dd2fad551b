; hello-exit.asm -- the sample boot sector, ending through isa-debug-exit instead of hlt, so
; that QEMU (where hlt waits forever) can run the same guest in the benchmark.
; nasm -f bin -I guests/include/ -I guests/ -o guests/bench/hello-exit.bin guests/bench/hello-exit.asm
%define EXIT_WHEN_DONE
%include "hello/hello.asm"

/* Runs the fuzz harness (fuzz_parsers.c) once on each file named on the command
 * line: the seed corpus and every input that once crashed a parser
 * (tests/fuzz/regressions/), with no libFuzzer needed, so that gcc's AddressSanitizer
 * and UBSan can replay them in the test suite. Prints "ok N" when none aborted. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        unsigned char *buf;
        long size;
        if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
            || fseek(f, 0, SEEK_SET) != 0) {
            fprintf(stderr, "cannot read %s\n", argv[i]);
            return 2;
        }
        buf = malloc((size_t)size + 1);
        if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) {
            fprintf(stderr, "cannot read %s\n", argv[i]);
            return 2;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(buf, (size_t)size);
        free(buf);
    }
    printf("ok %d\n", argc - 1);
    return 0;
}

/*
 * A stand-in bcryptprimitives.dll for Wine releases before 8.13, which lack it.
 *
 * Rust's standard library (1.78 and later) gets random bytes on Windows from ProcessPrng in
 * bcryptprimitives.dll. This DLL exports ProcessPrng and forwards to RtlGenRandom
 * (advapi32's SystemFunction036), the system random number generator Wine does provide.
 * scripts/cross.sh builds it with MinGW and copies it into the throwaway Wine prefix the
 * Windows tests run in; it is never shipped.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}

#include <sodium.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
static double cpu(void){struct rusage u;getrusage(RUSAGE_SELF,&u);return u.ru_utime.tv_sec+u.ru_stime.tv_sec+(u.ru_utime.tv_usec+u.ru_stime.tv_usec)/1e6;}
static long flt(void){struct rusage u;getrusage(RUSAGE_SELF,&u);return u.ru_minflt;}
int main(int argc,char**argv){sodium_init();unsigned char out[32],salt[16]={0};
 for(int i=0;i<5;i++){double c=cpu();long f=flt();struct timespec a,b;clock_gettime(CLOCK_MONOTONIC,&a);
 crypto_pwhash(out,32,"pw",2,salt,crypto_pwhash_OPSLIMIT_INTERACTIVE,crypto_pwhash_MEMLIMIT_INTERACTIVE,crypto_pwhash_ALG_ARGON2ID13);
 clock_gettime(CLOCK_MONOTONIC,&b);
 printf("cpu %.1f ms wall %.1f ms faults %ld out %02x%02x\n",(cpu()-c)*1e3,((b.tv_sec-a.tv_sec)*1e9+(b.tv_nsec-a.tv_nsec))/1e6,flt()-f,out[0],out[1]);}
}

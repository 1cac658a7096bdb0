/*
 * Signs TLS handshakes with the system's OpenSSL 3 libcrypto, for io.portico.tls.LibcryptoSigner.
 *
 * Why: netty-tcnative's BoringSSL has no AVX-512 IFMA path for RSA, OpenSSL 3 has; on such CPUs an
 * RSA-2048 signature costs about 2.7 times less through OpenSSL, and it is most of a full RSA
 * handshake. BoringSSL hands the signature to Portico through SSL_PRIVATE_KEY_METHOD (Netty's
 * OpenSslPrivateKeyMethod) and this file makes it with libcrypto.
 *
 * libcrypto is opened with dlopen, so nothing links against it and no OpenSSL headers are needed:
 * the few functions used are declared below with opaque pointers, as OpenSSL 3.0 exports them.
 */
#include <dlfcn.h>
#include <jni.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void EVP_PKEY;
typedef void EVP_PKEY_CTX;
typedef void EVP_MD_CTX;
typedef void EVP_MD;

#define RSA_PKCS1_PADDING 1
#define RSA_PKCS1_PSS_PADDING 6
#define RSA_NO_PADDING 3
#define RSA_PSS_SALTLEN_DIGEST (-1)

static EVP_PKEY *(*p_d2i_AutoPrivateKey)(EVP_PKEY **, const unsigned char **, long);
static void (*p_EVP_PKEY_free)(EVP_PKEY *);
static int (*p_EVP_PKEY_get_size)(const EVP_PKEY *);
static EVP_MD_CTX *(*p_EVP_MD_CTX_new)(void);
static void (*p_EVP_MD_CTX_free)(EVP_MD_CTX *);
static const EVP_MD *(*p_EVP_get_digestbyname)(const char *);
static int (*p_EVP_DigestSignInit)(EVP_MD_CTX *, EVP_PKEY_CTX **, const EVP_MD *, void *, EVP_PKEY *);
static int (*p_EVP_DigestSign)(EVP_MD_CTX *, unsigned char *, size_t *, const unsigned char *, size_t);
static int (*p_EVP_PKEY_CTX_set_rsa_padding)(EVP_PKEY_CTX *, int);
static int (*p_EVP_PKEY_CTX_set_rsa_pss_saltlen)(EVP_PKEY_CTX *, int);
static EVP_PKEY_CTX *(*p_EVP_PKEY_CTX_new)(EVP_PKEY *, void *);
static void (*p_EVP_PKEY_CTX_free)(EVP_PKEY_CTX *);
static int (*p_EVP_PKEY_decrypt_init)(EVP_PKEY_CTX *);
static int (*p_EVP_PKEY_decrypt)(EVP_PKEY_CTX *, unsigned char *, size_t *, const unsigned char *, size_t);
static unsigned long (*p_OpenSSL_version_num)(void);
static unsigned long (*p_ERR_get_error)(void);
static void (*p_ERR_error_string_n)(unsigned long, char *, size_t);

static const EVP_MD *digests[4]; /* SHA-1, SHA-256, SHA-384, SHA-512 */

#define RESOLVE(lib, name) \
    do { \
        *(void **) (&p_##name) = dlsym(lib, #name); \
        if (p_##name == NULL) { \
            return (*env)->NewStringUTF(env, "libcrypto.so.3 lacks " #name); \
        } \
    } while (0)

static void throw_error(JNIEnv *env, const char *what) {
    char msg[320];
    unsigned long code = p_ERR_get_error != NULL ? p_ERR_get_error() : 0;
    char reason[256] = "";
    if (code != 0 && p_ERR_error_string_n != NULL) {
        p_ERR_error_string_n(code, reason, sizeof reason);
    }
    snprintf(msg, sizeof msg, "%s%s%s", what, code != 0 ? ": " : "", reason);
    jclass cls = (*env)->FindClass(env, "java/security/SignatureException");
    if (cls != NULL) {
        (*env)->ThrowNew(env, cls, msg);
    }
}

/* Returns null when libcrypto 3 is usable, else why not. */
JNIEXPORT jstring JNICALL Java_io_portico_tls_LibcryptoSigner_init(JNIEnv *env, jclass cls) {
    void *lib = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        const char *e = dlerror();
        return (*env)->NewStringUTF(env, e != NULL ? e : "cannot open libcrypto.so.3");
    }
    RESOLVE(lib, OpenSSL_version_num);
    RESOLVE(lib, d2i_AutoPrivateKey);
    RESOLVE(lib, EVP_PKEY_free);
    RESOLVE(lib, EVP_PKEY_get_size);
    RESOLVE(lib, EVP_MD_CTX_new);
    RESOLVE(lib, EVP_MD_CTX_free);
    RESOLVE(lib, EVP_get_digestbyname);
    RESOLVE(lib, EVP_DigestSignInit);
    RESOLVE(lib, EVP_DigestSign);
    RESOLVE(lib, EVP_PKEY_CTX_set_rsa_padding);
    RESOLVE(lib, EVP_PKEY_CTX_set_rsa_pss_saltlen);
    RESOLVE(lib, EVP_PKEY_CTX_new);
    RESOLVE(lib, EVP_PKEY_CTX_free);
    RESOLVE(lib, EVP_PKEY_decrypt_init);
    RESOLVE(lib, EVP_PKEY_decrypt);
    RESOLVE(lib, ERR_get_error);
    RESOLVE(lib, ERR_error_string_n);
    if (p_OpenSSL_version_num() < 0x30000000UL) {
        return (*env)->NewStringUTF(env, "libcrypto.so.3 reports a version before 3.0");
    }
    const char *names[4] = {"SHA1", "SHA256", "SHA384", "SHA512"};
    for (int i = 0; i < 4; i++) {
        digests[i] = p_EVP_get_digestbyname(names[i]);
        if (digests[i] == NULL) {
            return (*env)->NewStringUTF(env, "libcrypto.so.3 has no SHA-1/SHA-2 digests");
        }
    }
    return NULL;
}

/* Parses a PKCS#8 (or traditional) DER private key; returns its EVP_PKEY, or throws. */
JNIEXPORT jlong JNICALL Java_io_portico_tls_LibcryptoSigner_loadKey(JNIEnv *env, jclass cls, jbyteArray der) {
    jsize len = (*env)->GetArrayLength(env, der);
    unsigned char *buf = malloc(len > 0 ? (size_t) len : 1);
    if (buf == NULL) {
        throw_error(env, "out of memory");
        return 0;
    }
    (*env)->GetByteArrayRegion(env, der, 0, len, (jbyte *) buf);
    const unsigned char *p = buf;
    EVP_PKEY *key = p_d2i_AutoPrivateKey(NULL, &p, len);
    memset(buf, 0, (size_t) len);
    free(buf);
    if (key == NULL) {
        throw_error(env, "libcrypto cannot read the private key");
        return 0;
    }
    return (jlong) (intptr_t) key;
}

JNIEXPORT void JNICALL Java_io_portico_tls_LibcryptoSigner_freeKey(JNIEnv *env, jclass cls, jlong key) {
    if (key != 0) {
        p_EVP_PKEY_free((EVP_PKEY *) (intptr_t) key);
    }
}

/*
 * Signs input with the key: digest 0..3 (SHA-1, -256, -384, -512); padding 0 = none (ECDSA),
 * 1 = RSA PKCS#1 v1.5, 2 = RSA-PSS with a salt as long as the digest (what TLS requires).
 */
JNIEXPORT jbyteArray JNICALL Java_io_portico_tls_LibcryptoSigner_sign(JNIEnv *env, jclass cls, jlong key,
                                                                        jint digest, jint padding, jbyteArray input) {
    if (digest < 0 || digest > 3) {
        throw_error(env, "unknown digest");
        return NULL;
    }
    EVP_PKEY *pkey = (EVP_PKEY *) (intptr_t) key;
    /* TLS signs a few hundred bytes at most; copy them rather than pin the array (and stall the GC) while signing. */
    unsigned char in[2048];
    jsize len = (*env)->GetArrayLength(env, input);
    if (len < 0 || (size_t) len > sizeof in) {
        throw_error(env, "input too long");
        return NULL;
    }
    (*env)->GetByteArrayRegion(env, input, 0, len, (jbyte *) in);
    int max = p_EVP_PKEY_get_size(pkey);
    unsigned char sig[1024];
    size_t siglen = sizeof sig;
    int ok = max > 0 && (size_t) max <= sizeof sig;
    EVP_MD_CTX *ctx = ok ? p_EVP_MD_CTX_new() : NULL;
    EVP_PKEY_CTX *pctx = NULL;
    ok = ctx != NULL && p_EVP_DigestSignInit(ctx, &pctx, digests[digest], NULL, pkey) == 1;
    if (ok && padding == 1) {
        ok = p_EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
    } else if (ok && padding == 2) {
        ok = p_EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1
             && p_EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
    }
    ok = ok && p_EVP_DigestSign(ctx, sig, &siglen, in, (size_t) len) == 1;
    if (ctx != NULL) {
        p_EVP_MD_CTX_free(ctx);
    }
    if (!ok) {
        throw_error(env, "libcrypto could not sign");
        return NULL;
    }
    jbyteArray out = (*env)->NewByteArray(env, (jsize) siglen);
    if (out != NULL) {
        (*env)->SetByteArrayRegion(env, out, 0, (jsize) siglen, (jbyte *) sig);
    }
    return out;
}

/*
 * Raw RSA decryption (no padding) for the RSA key exchange of TLS 1.2: BoringSSL checks the
 * PKCS#1 padding itself, in constant time, as SSL_PRIVATE_KEY_METHOD requires.
 */
JNIEXPORT jbyteArray JNICALL Java_io_portico_tls_LibcryptoSigner_decrypt(JNIEnv *env, jclass cls, jlong key,
                                                                           jbyteArray input) {
    EVP_PKEY *pkey = (EVP_PKEY *) (intptr_t) key;
    unsigned char in[1024];
    unsigned char out[1024];
    size_t outlen = sizeof out;
    jsize len = (*env)->GetArrayLength(env, input);
    if (len < 0 || (size_t) len > sizeof in) {
        throw_error(env, "input too long");
        return NULL;
    }
    (*env)->GetByteArrayRegion(env, input, 0, len, (jbyte *) in);
    EVP_PKEY_CTX *ctx = p_EVP_PKEY_CTX_new(pkey, NULL);
    int ok = ctx != NULL && p_EVP_PKEY_decrypt_init(ctx) == 1
             && p_EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1
             && p_EVP_PKEY_decrypt(ctx, out, &outlen, in, (size_t) len) == 1;
    if (ctx != NULL) {
        p_EVP_PKEY_CTX_free(ctx);
    }
    memset(in, 0, sizeof in);
    if (!ok) {
        memset(out, 0, sizeof out);
        throw_error(env, "libcrypto could not decrypt");
        return NULL;
    }
    jbyteArray result = (*env)->NewByteArray(env, (jsize) outlen);
    if (result != NULL) {
        (*env)->SetByteArrayRegion(env, result, 0, (jsize) outlen, (jbyte *) out);
    }
    memset(out, 0, sizeof out);
    return result;
}

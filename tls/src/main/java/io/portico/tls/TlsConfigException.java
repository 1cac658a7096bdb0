package io.portico.tls;

/**
 * TLS settings or files that cannot be used: an unreadable or malformed file, a wrong password,
 * a key that does not belong to its certificate, an option the chosen provider cannot honour.
 * The message names the file or option so that it can be shown to an operator as it is.
 */
public final class TlsConfigException extends Exception {

    private static final long serialVersionUID = 1L;

    public TlsConfigException(String message) {
        super(message);
    }

    public TlsConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}

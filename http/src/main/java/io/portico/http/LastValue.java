package io.portico.http;

import java.util.function.Function;

/**
 * A one-entry memo shared by every event loop: the value made for the last key, reused while
 * callers ask for an equal key. Requests mostly repeat what the one before them had (the same
 * client address, Host header, pseudonym), so this spares the formatting and the garbage of
 * making the same small value again. The entry is one immutable object behind a volatile field:
 * a race between event loops costs a recomputation, never a wrong value.
 *
 * @param <K> the key; compared with {@code equals}, never null
 * @param <V> the value made from it (may be null)
 */
public final class LastValue<K, V> {

    private volatile Entry<K, V> last;

    /**
     * The value for {@code key}: the kept one when {@code key} equals the last key, else
     * {@code make.apply(key)}, which is then kept. {@code make} should be a constant (a method
     * reference or a lambda that captures nothing) so that a hit allocates nothing.
     */
    public V get(K key, Function<? super K, ? extends V> make) {
        Entry<K, V> e = last;
        if (e != null && e.key.equals(key)) {
            return e.value;
        }
        V value = make.apply(key);
        last = new Entry<>(key, value);
        return value;
    }

    private record Entry<K, V>(K key, V value) {
    }
}

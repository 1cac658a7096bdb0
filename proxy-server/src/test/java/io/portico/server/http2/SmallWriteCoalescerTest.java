package io.portico.server.http2;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class SmallWriteCoalescerTest {

    static ByteBuf text(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
    }

    /** Everything the channel wrote to its "socket", as text, one entry per buffer. */
    static List<String> written(EmbeddedChannel ch) {
        List<String> out = new ArrayList<>();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            out.add(b.toString(StandardCharsets.US_ASCII));
            b.release();
        }
        return out;
    }

    @Test
    void smallWritesLeaveAsOneBufferAtTheFlushInOrder() {
        EmbeddedChannel ch = new EmbeddedChannel(new SmallWriteCoalescer());
        ch.write(text("head"));
        ch.write(text("-block"));
        ch.write(text("-data"));
        assertThat(written(ch)).as("nothing before the flush").isEmpty();
        ch.flush();
        assertThat(written(ch)).containsExactly("head-block-data");
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void aLargeBufferGoesOnAsItIsAfterWhatWasGatheredBeforeIt() {
        EmbeddedChannel ch = new EmbeddedChannel(new SmallWriteCoalescer());
        String large = "x".repeat(SmallWriteCoalescer.SMALL_BYTES + 1);
        ch.write(text("a"));
        ch.write(text("b"));
        ch.write(text(large));
        ch.write(text("c"));
        ch.flush();
        assertThat(written(ch)).containsExactly("ab", large, "c");
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void aFullGatheringBufferIsHandedOnAndANewOneStarted() {
        EmbeddedChannel ch = new EmbeddedChannel(new SmallWriteCoalescer());
        String chunk = "y".repeat(SmallWriteCoalescer.SMALL_BYTES);
        int perBuffer = SmallWriteCoalescer.GATHER_BYTES / chunk.length();
        for (int i = 0; i < perBuffer + 1; i++) {
            ch.write(text(chunk));
        }
        ch.flush();
        List<String> out = written(ch);
        assertThat(out).hasSize(2);
        assertThat(out.get(0)).hasSize(perBuffer * chunk.length());
        assertThat(out.get(1)).isEqualTo(chunk);
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void aSmallBufferAloneGoesOnAsItIsWithItsOwnPromise() {
        EmbeddedChannel ch = new EmbeddedChannel(new SmallWriteCoalescer());
        ByteBuf ping = text("ping-ack");
        ChannelFuture f = ch.writeAndFlush(ping);
        assertThat(f.isSuccess()).isTrue();
        ByteBuf out = ch.readOutbound();
        assertThat(out).as("not copied").isSameAs(ping);
        out.release();
        assertThat(ch.finish()).isFalse();
    }

    /**
     * The outbound buffer counts a buffer by its readable bytes: a gathering buffer must not hold
     * much more memory than that, or a client that stops reading could pin 16 KiB per counted
     * handful of bytes.
     */
    @Test
    void aGatheringBufferHoldsAtMostTwiceWhatItCarries() {
        EmbeddedChannel ch = new EmbeddedChannel(new SmallWriteCoalescer());
        for (int writes : new int[] {2, 3, 20, 100, 700}) {
            for (int i = 0; i < writes; i++) {
                ch.write(text("0123456789abcdef0"));
            }
            ch.flush();
            ByteBuf out;
            while ((out = ch.readOutbound()) != null) {
                assertThat(out.capacity()).as("%d writes of 17 bytes", writes)
                        .isLessThanOrEqualTo(Math.max(SmallWriteCoalescer.FIRST_CAPACITY, 2 * out.readableBytes()));
                out.release();
            }
        }
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void aWriteThatCannotBeGatheredFailsAloneAndLeaksNothing() {
        EmbeddedChannel ch = new EmbeddedChannel(new SmallWriteCoalescer());
        ch.config().setAllocator(new AbstractByteBufAllocator(false) {
            @Override
            protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
                return Unpooled.buffer(initialCapacity, maxCapacity);
            }

            @Override
            protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
                throw new OutOfMemoryError("direct memory");
            }

            @Override
            public boolean isDirectBufferPooled() {
                return false;
            }
        });
        ChannelFuture first = ch.write(text("first"));
        ByteBuf second = text("second");
        ChannelFuture failed = ch.write(second);
        assertThat(failed.cause()).isInstanceOf(OutOfMemoryError.class);
        assertThat(second.refCnt()).isZero();
        ch.flush();
        assertThat(first.isSuccess()).isTrue();
        assertThat(written(ch)).containsExactly("first");
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void promisesCompleteWithTheWriteTheirBytesWentOutIn() {
        EmbeddedChannel ch = new EmbeddedChannel(new SmallWriteCoalescer());
        ChannelFuture first = ch.write(text("one"));
        ChannelFuture second = ch.write(text("two"), ch.voidPromise());
        ChannelFuture third = ch.write(text("three"));
        assertThat(first.isDone()).as("not written before the flush").isFalse();
        assertThat(third.isDone()).isFalse();
        ch.flush();
        assertThat(first.isSuccess()).isTrue();
        assertThat(third.isSuccess()).isTrue();
        assertThat(second.isVoid()).isTrue();
        assertThat(written(ch)).containsExactly("onetwothree");
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void aFailedWriteFailsEveryPromiseGatheredIntoIt() {
        IOException broken = new IOException("broken pipe");
        EmbeddedChannel ch = new EmbeddedChannel(new ChannelOutboundHandlerAdapter() {
            @Override
            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                ((ByteBuf) msg).release();
                promise.setFailure(broken);
            }
        }, new SmallWriteCoalescer());
        ChannelFuture first = ch.write(text("one"));
        ChannelFuture second = ch.write(text("two"));
        ch.flush();
        assertThat(first.cause()).isSameAs(broken);
        assertThat(second.cause()).isSameAs(broken);
        ch.finishAndReleaseAll();
    }

    @Test
    void whatIsGatheredWhenTheChannelClosesLeavesBeforeTheClose() {
        EmbeddedChannel ch = new EmbeddedChannel(new SmallWriteCoalescer());
        ChannelFuture goAway = ch.write(text("goaway"));
        ch.close();
        assertThat(goAway.isSuccess()).isTrue();
        assertThat(written(ch)).containsExactly("goaway");
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void buffersGatheredAfterTheCloseAreReleasedAndTheirPromisesFailed() {
        EmbeddedChannel ch = new EmbeddedChannel(new SmallWriteCoalescer());
        ch.close();
        ByteBuf late = text("late");
        ChannelFuture f = ch.write(late);
        ch.flush();
        assertThat(f.isSuccess()).isFalse();
        assertThat(late.refCnt()).isZero();
        assertThat(ch.finish()).isFalse();
    }
}

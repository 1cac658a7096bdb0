package io.portico.websocket;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;

/**
 * Netty's frame decoder, configured to report violations instead of answering them, with the
 * close-frame body check left to {@link FrameValidator} (Netty's accepts codes the RFC does not
 * and always checks the reason's UTF-8), and telling the side's heartbeat when bytes arrive.
 */
final class RelayFrameDecoder extends WebSocket08FrameDecoder {

    private final Heartbeat heartbeat;

    RelayFrameDecoder(boolean fromClient, boolean deflate, int maxFramePayload, Heartbeat heartbeat) {
        super(WebSocketDecoderConfig.newBuilder()
                .expectMaskedFrames(fromClient)
                .allowMaskMismatch(false)
                // RSV bits are then checked per frame type by FrameValidator.
                .allowExtensions(deflate)
                .maxFramePayloadLength(maxFramePayload)
                .closeOnProtocolViolation(false)
                .withUTF8Validator(false)
                .build());
        this.heartbeat = heartbeat;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (heartbeat != null && msg instanceof ByteBuf) {
            heartbeat.bytesRead();
        }
        super.channelRead(ctx, msg);
    }

    @Override
    protected void checkCloseFrameBody(ChannelHandlerContext ctx, ByteBuf buffer) {
        // FrameValidator checks the status code and the reason.
    }
}

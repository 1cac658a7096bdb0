package io.portico.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ConfigBinderTest {

    record Sample(
            @Default("7") int count,
            @Default("9000000000") long big,
            @Default("0.5") double ratio,
            @Default("false") boolean reusePort,
            @Default("5s") Duration timeout,
            @Default("round_robin") BalanceAlgorithm balance,
            @Default("16k") ByteSize size,
            @Default("hello") String text,
            @Default("") String empty,
            @Nullable String optional,
            List<String> tags,
            Map<String, Integer> limits,
            Inner inner,
            List<Inner> inners) {
    }

    record Inner(
            @Default("1") int level,
            @Key("default") @Default("false") boolean isDefault) {

        Inner {
            if (level < 0) {
                throw new InvalidConfigException("level", "cannot be negative");
            }
        }
    }

    record Required(HostPort address, @Default("x") String name) {
    }

    record Checked(List<Inner> items, Map<String, Inner> byName, @Default("1") int total) {

        Checked {
            if (total == 2) {
                throw new InvalidConfigException("items[1].level", "level of the second item is wrong");
            }
            if (total == 3) {
                throw new InvalidConfigException("by_name.a.b.level", "dotted map key located");
            }
            if (total == 4) {
                throw new InvalidConfigException("items[7].level", "no such item");
            }
            if (total == 5) {
                throw new IllegalArgumentException("total cannot be 5");
            }
        }
    }

    private static <T extends Record> T bind(String yaml, Class<T> type) throws ConfigException {
        return ConfigLoader.parse("test.yaml", yaml, type);
    }

    private static ConfigException failure(String yaml, Class<? extends Record> type) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> bind(yaml, type));
        assertThat(e).as("a ConfigException for:%n%s", yaml).isNotNull();
        return e;
    }

    @Test
    void appliesEveryKindOfDefaultWhenKeysAreMissing() throws ConfigException {
        Sample s = bind("", Sample.class);

        assertThat(s.count()).isEqualTo(7);
        assertThat(s.big()).isEqualTo(9_000_000_000L);
        assertThat(s.ratio()).isEqualTo(0.5);
        assertThat(s.reusePort()).isFalse();
        assertThat(s.timeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(s.balance()).isEqualTo(BalanceAlgorithm.ROUND_ROBIN);
        assertThat(s.size().bytes()).isEqualTo(16 * 1024);
        assertThat(s.text()).isEqualTo("hello");
        assertThat(s.empty()).isEmpty();
        assertThat(s.optional()).isNull();
        assertThat(s.tags()).isEmpty();
        assertThat(s.limits()).isEmpty();
        assertThat(s.inner()).isEqualTo(new Inner(1, false));
        assertThat(s.inners()).isEmpty();
    }

    @Test
    void readsEveryValueTypeFromSnakeCaseKeys() throws ConfigException {
        Sample s = bind("""
                count: 42
                big: -12
                ratio: 0.25
                reuse_port: true
                timeout: 250ms
                balance: least_conn
                size: 2m
                text: 8080
                empty: ""
                optional: here
                tags: [a, b]
                limits:
                  Zeta: 1
                  alpha: 2
                inner: {level: 3, default: true}
                inners:
                  - level: 4
                  - {}
                """, Sample.class);

        assertThat(s.count()).isEqualTo(42);
        assertThat(s.big()).isEqualTo(-12);
        assertThat(s.ratio()).isEqualTo(0.25);
        assertThat(s.reusePort()).isTrue();
        assertThat(s.timeout()).isEqualTo(Duration.ofMillis(250));
        assertThat(s.balance()).isEqualTo(BalanceAlgorithm.LEAST_CONN);
        assertThat(s.size().bytes()).isEqualTo(2L << 20);
        assertThat(s.text()).isEqualTo("8080");
        assertThat(s.empty()).isEmpty();
        assertThat(s.optional()).isEqualTo("here");
        assertThat(s.tags()).containsExactly("a", "b");
        assertThat(s.limits()).containsExactly(Map.entry("Zeta", 1), Map.entry("alpha", 2));
        assertThat(s.inner()).isEqualTo(new Inner(3, true));
        assertThat(s.inners()).containsExactly(new Inner(4, false), new Inner(1, false));
    }

    @Test
    void keepsStringsExactlyAsWrittenEvenWhenYamlWouldReadThemAsOtherTypes() throws ConfigException {
        Sample s = bind("tags: [no, 1.10, 0x1F, ~x]\ntext: 'on'\n", Sample.class);

        assertThat(s.tags()).containsExactly("no", "1.10", "0x1F", "~x");
        assertThat(s.text()).isEqualTo("on");
    }

    @ParameterizedTest
    @CsvSource({
        "250ms, PT0.25S",
        "5s, PT5S",
        "10m, PT10M",
        "2h, PT2H",
        "1d, PT24H",
        "30, PT30S",
        "0, PT0S",
        "1m30s, PT1M30S",
        "1d2h3m4s5ms, PT26H3M4.005S",
        "'1h 15m', PT1H15M",
        "106751d, PT2562024H"
    })
    void readsDurationsInEveryUnitWithBareNumbersAsSeconds(String written, String expected) throws ConfigException {
        Sample s = bind("timeout: " + written, Sample.class);

        assertThat(s.timeout()).isEqualTo(Duration.parse(expected));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "-5s | a duration cannot be negative, got '-5s'",
        "5x | expected a duration such as 250ms, 5s, 10m, 2h or 1d, got '5x' (units are ms, s, m, h and d)",
        "1.5s | expected a duration such as 250ms, 5s, 10m, 2h or 1d, got '1.5s'",
        "soon | expected a duration such as 250ms, 5s, 10m, 2h or 1d, got 'soon'",
        "99999999999999999999d | a duration too long to use: '99999999999999999999d' (at most 106751d)",
        "9223372036854775807s | a duration too long to use: '9223372036854775807s' (at most 106751d)",
        "300000d | a duration too long to use: '300000d' (at most 106751d)",
        "1m1m | expected a duration such as 250ms, 5s, 10m, 2h or 1d, got '1m1m' (parts go from the largest unit down, each once, as in 1h30m)",
        "30s1m | expected a duration such as 250ms, 5s, 10m, 2h or 1d, got '30s1m' (parts go from the largest unit down, each once, as in 1h30m)"
    })
    void rejectsNegativeAndMalformedDurations(String written, String reason) {
        ConfigException e = failure("count: 1\ntimeout: " + written, Sample.class);

        assertThat(e.line()).isEqualTo(2);
        assertThat(e.key()).isEqualTo("timeout");
        assertThat(e.reason()).isEqualTo(reason);
    }

    @ParameterizedTest
    @CsvSource({"true, true", "On, true", "yes, true", "FALSE, false", "off, false", "No, false"})
    void readsBooleansAsTrueFalseOnOffYesNo(String written, boolean expected) throws ConfigException {
        assertThat(bind("reuse_port: " + written, Sample.class).reusePort()).isEqualTo(expected);
    }

    @Test
    void rejectsAWordThatIsNotABoolean() {
        ConfigException e = failure("reuse_port: maybe", Sample.class);

        assertThat(e).hasMessage("test.yaml:1: reuse_port: expected true or false, got 'maybe'");
    }

    @Test
    void readsSizesAndReportsTheSizeParsersReason() throws ConfigException {
        assertThat(bind("size: 512", Sample.class).size().bytes()).isEqualTo(512);
        assertThat(bind("size: 1g", Sample.class).size().bytes()).isEqualTo(1L << 30);

        ConfigException e = failure("size: lots", Sample.class);
        assertThat(e.reason()).isEqualTo("expected a size such as 512, 16k, 1m or 2g, got 'lots'");
    }

    @Test
    void readsEnumsInSnakeCaseAndListsTheAllowedValuesWhenWrong() throws ConfigException {
        assertThat(bind("balance: consistent_hash", Sample.class).balance()).isEqualTo(BalanceAlgorithm.CONSISTENT_HASH);

        ConfigException e = failure("balance: random", Sample.class);
        assertThat(e.reason())
                .isEqualTo("expected one of round_robin, least_conn, p2c, consistent_hash, got 'random'");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "4.5 | expected an integer, got '4.5'",
        "ten | expected an integer, got 'ten'",
        "true | expected an integer, got 'true'",
        "3000000000 | expected an integer from -2147483648 to 2147483647, got '3000000000'",
        "1e999999999 | expected an integer from -2147483648 to 2147483647, got '1e999999999'"
    })
    void rejectsIntegersThatAreNotIntegralOrOutOfRange(String written, String reason) {
        assertThat(failure("count: " + written, Sample.class).reason()).isEqualTo(reason);
    }

    @Test
    void acceptsIntegersWrittenWithUnderscoresOrAnExponent() throws ConfigException {
        assertThat(bind("count: 1_000", Sample.class).count()).isEqualTo(1000);
        assertThat(bind("count: 1e3", Sample.class).count()).isEqualTo(1000);
    }

    @Test
    void rejectsAMappingWhereAStringIsExpected() {
        ConfigException e = failure("text:\n  nested: value\n", Sample.class);

        assertThat(e).hasMessage("test.yaml:2: text: expected a string, got a mapping");
    }

    @Test
    void rejectsAListWhereANestedRecordIsExpected() {
        assertThat(failure("inner: [1, 2]", Sample.class).reason()).isEqualTo("expected a mapping of keys, got a list");
    }

    @Test
    void acceptsOneScalarWhereAListOfScalarsIsExpected() throws ConfigException {
        assertThat(bind("tags: api.example.com", Sample.class).tags()).containsExactly("api.example.com");
    }

    @Test
    void rejectsOneScalarWhereAListOfRecordsIsExpected() {
        assertThat(failure("inners: 3", Sample.class).reason()).isEqualTo("expected a list, got '3'");
    }

    @Test
    void rejectsAnEmptyValueForAKeyThatIsNotNullable() {
        ConfigException e = failure("count: 1\nratio:\n", Sample.class);

        assertThat(e.line()).isEqualTo(2);
        assertThat(e.key()).isEqualTo("ratio");
        assertThat(e.reason()).isEqualTo("expected a number, got nothing (leave the key out for the default, '0.5')");
    }

    @Test
    void acceptsAnEmptyValueForANullableKey() throws ConfigException {
        assertThat(bind("optional: ~", Sample.class).optional()).isNull();
    }

    @Test
    void rejectsAnEmptyItemInAList() {
        ConfigException e = failure("tags:\n  - a\n  -\n", Sample.class);

        assertThat(e.key()).isEqualTo("tags[1]");
        assertThat(e.reason()).isEqualTo("expected a string, got nothing");
    }

    @ParameterizedTest
    @CsvSource({
        "reuse_prot, reuse_port",
        "reusePort, reuse_port",
        "reuse-port, reuse_port",
        "REUSE_PORT, reuse_port",
        "cuont, count",
        "inners_, inners"
    })
    void suggestsTheClosestKeyForATypo(String typo, String suggestion) {
        ConfigException e = failure("count: 1\n" + typo + ": true\n", Sample.class);

        assertThat(e.line()).isEqualTo(2);
        assertThat(e.key()).isEqualTo(typo);
        assertThat(e.reason()).isEqualTo("unknown key '" + typo + "' (did you mean '" + suggestion + "'?)");
    }

    @Test
    void listsTheKnownKeysWhenNoneIsClose() {
        ConfigException e = failure("inner:\n  colour: red\n", Sample.class);

        assertThat(e).hasMessage("test.yaml:2: inner.colour: unknown key 'colour'; the keys here are level, default");
    }

    @ParameterizedTest
    @CsvSource({"reusePort, reuse_port", "xForwarded, x_forwarded", "requestIdHeader, request_id_header",
        "maxTTLSeconds, max_ttl_seconds", "via, via"})
    void namesKeysInSnakeCase(String component, String key) {
        assertThat(KeyNames.snakeCase(component)).isEqualTo(key);
    }

    @Test
    void readsAComponentFromTheKeyItsKeyAnnotationNames() throws ConfigException {
        assertThat(bind("inner: {default: yes}", Sample.class).inner().isDefault()).isTrue();
        assertThat(failure("inner: {is_default: yes}", Sample.class).reason())
                .isEqualTo("unknown key 'is_default' (did you mean 'default'?)");
    }

    @Test
    void reportsAMissingRequiredKeyAtTheLineOfItsMapping() {
        ConfigException e = failure("# a comment\n\nname: y\n", Required.class);

        assertThat(e).hasMessage("test.yaml:3: address: missing required key 'address'");
    }

    @Test
    void namesTheFullPathOfAValueInsideListsAndMaps() {
        ConfigException e = failure("""
                items:
                  - level: 1
                by_name:
                  first:
                    level: 2
                  second:
                    level: high
                """, Checked.class);

        assertThat(e).hasMessage("test.yaml:7: by_name.second.level: expected an integer, got 'high'");
    }

    @Test
    void placesAConstructorErrorAtTheKeyItNames() {
        ConfigException e = failure("""
                inners:
                  - level: 1
                  - level: 2
                  - level: -1
                """, Sample.class);

        assertThat(e).hasMessage("test.yaml:4: inners[2].level: cannot be negative");
    }

    @Test
    void placesAConstructorErrorWithARelativePathAtTheNodeOfThatPath() {
        ConfigException e = failure("""
                total: 2
                items:
                  - level: 1
                  -
                    level: 2
                """, Checked.class);

        assertThat(e.line()).isEqualTo(5);
        assertThat(e.key()).isEqualTo("items[1].level");
        assertThat(e.reason()).isEqualTo("level of the second item is wrong");
    }

    @Test
    void resolvesMapKeysThatContainDots() {
        ConfigException e = failure("""
                total: 3
                by_name:
                  a: {}
                  a.b:
                    level: 1
                """, Checked.class);

        assertThat(e.line()).isEqualTo(5);
        assertThat(e.key()).isEqualTo("by_name.a.b.level");
    }

    @Test
    void fallsBackToTheNearestNodeInTheFileWhenThePathIsNotAllThere() {
        ConfigException e = failure("""
                total: 4
                items:
                  - level: 1
                """, Checked.class);

        assertThat(e.line()).isEqualTo(2);
        assertThat(e.key()).isEqualTo("items[7].level");
    }

    @Test
    void reportsAnOrdinaryConstructorErrorAtTheRecordsMapping() {
        ConfigException e = failure("total: 5\n", Checked.class);

        assertThat(e).hasMessage("test.yaml:1: total cannot be 5");
    }

    @Test
    void rejectsADuplicateKeyNamingBothLines() {
        ConfigException e = failure("""
                inner:
                  level: 1
                  default: true
                  level: 2
                """, Sample.class);

        assertThat(e).hasMessage("test.yaml:4: inner.level: duplicate key 'level' (first at line 2)");
    }

    @Test
    void rejectsADuplicateKeyInAMap() {
        ConfigException e = failure("limits:\n  a: 1\n  a: 2\n", Sample.class);

        assertThat(e).hasMessage("test.yaml:3: limits.a: duplicate key 'a' (first at line 2)");
    }

    @Test
    void honoursMergeKeysWithWrittenKeysWinning() throws ConfigException {
        Sample s = bind("""
                inner: &base {level: 5, default: true}
                inners:
                  - <<: *base
                    level: 6
                  - <<: [*base]
                """, Sample.class);

        assertThat(s.inners()).containsExactly(new Inner(6, true), new Inner(5, true));
    }

    @ParameterizedTest
    @ValueSource(strings = {"inner:\n  <<: 3\n", "inner:\n  <<: [3]\n"})
    void rejectsAMergeOfSomethingOtherThanMappings(String yaml) {
        assertThat(failure(yaml, Sample.class).reason()).startsWith("a merge (<<) takes a mapping or a list of mappings");
    }

    @Test
    void reportsTheFirstErrorInFileOrder() {
        ConfigException e = failure("""
                tags: [a]
                timeout: forever
                count: many
                """, Sample.class);

        assertThat(e.key()).isEqualTo("timeout");
    }
}

package io.chainsync.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.List;
import org.junit.jupiter.api.Test;

class CompareResultTest {

    @Test
    void mismatchOffset() {
        assertEquals(131072, new CompareResult(false, "Content mismatch at offset 131072").mismatchOffset());
        assertEquals(-1, new CompareResult(true, "Images are identical.").mismatchOffset());
    }

    @Test
    void checkResultCleanliness() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        assertTrue(new CheckResult(0, f.objectNode().put("check-errors", 0L), "").isClean());
        assertFalse(new CheckResult(3, f.objectNode().put("leaks", 2L), "").isClean());
        assertFalse(new CheckResult(0, f.objectNode().put("corruptions", 1L), "").isClean());
    }

    @Test
    void verdictListsEveryFailure() {
        Verdict v = new Verdict(List.of(
                new Verdict.Failure("top", Verdict.Check.ALONE_CONTENT, "Content mismatch at offset 131072"),
                new Verdict.Failure("top", Verdict.Check.BACKING, "backing file none, expected 'base.raw'")));
        assertFalse(v.isExact());
        AssertionError e = org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class, v::assertExact);
        assertTrue(e.getMessage().contains("layer top: alone: Content mismatch at offset 131072"), e.getMessage());
        assertTrue(e.getMessage().contains("layer top: backing: backing file none"), e.getMessage());
        new Verdict(List.of()).assertExact();
    }
}

package dev.unclosed.inventory;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class BudgetTest {
    @Test
    public void entriesPastTheCapAreRefusedForGood() {
        Budget budget = new Budget(3, 60_000);
        for (int i = 0; i < 3; i++) assertTrue(budget.take());
        assertFalse(budget.spent());
        assertFalse(budget.take());
        assertTrue(budget.spent());
        assertFalse(budget.take());
    }

    @Test
    public void timeIsReadEvery1024Entries() {
        Budget budget = new Budget(10_000, 0);
        for (int i = 1; i < 1024; i++) assertTrue(budget.take());
        assertFalse(budget.take());
        assertTrue(budget.spent());
    }
}
